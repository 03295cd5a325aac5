<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * Add-on layers (php-82-redis…) put their manifest in /opt/php/addons/. An extension built for another PHP minor or
 * architecture cannot load (PHP only warns, per request, and the extension is missing), so the sandbox refuses to
 * start with one message that names the layer to attach instead.
 */
final class Addons
{
    private const ARCHS = ['x86_64' => 'x86_64', 'amd64' => 'x86_64', 'aarch64' => 'arm64', 'arm64' => 'arm64'];

    /**
     * @param string $phpDir the layer's php/ directory (holding manifest.json and addons/)
     * @throws InitFailure when an add-on does not fit the PHP running this bootstrap
     */
    public static function check(string $phpDir, string $phpVersion, string $machine): void
    {
        $files = glob($phpDir . '/addons/*.json') ?: [];
        if ($files === []) {
            return;
        }
        $minor = implode('.', \array_slice(explode('.', $phpVersion), 0, 2));
        $arch = self::ARCHS[$machine] ?? $machine;
        $base = self::read($phpDir . '/manifest.json');
        $problems = [];
        foreach ($files as $file) {
            $addon = self::read($file);
            $name = \is_array($addon) && \is_string($addon['layerName'] ?? null) ? $addon['layerName'] : basename($file, '.json');
            $builtFor = \is_array($addon) ? [$addon['php']['minor'] ?? null, $addon['arch'] ?? null] : [null, null];
            if (!\is_string($builtFor[0]) || !\is_string($builtFor[1])) {
                $problems[] = \sprintf('the add-on manifest %s cannot be read; rebuild or re-attach that layer', $file);
                continue;
            }
            if ($builtFor === [$minor, $arch]) {
                continue;
            }
            // php-83-redis on a php-82 base → php-82-redis.
            $baseName = \is_string($addon['addon']['base']['layerName'] ?? null) ? $addon['addon']['base']['layerName'] : null;
            $suffix = $baseName !== null && str_starts_with($name, $baseName) ? substr($name, \strlen($baseName)) : null;
            $instead = \is_array($base) && \is_string($base['layerName'] ?? null) && $suffix !== null ? $base['layerName'] . $suffix : null;
            $problems[] = \sprintf(
                'the add-on layer %s was built for PHP %s on %s, but this function runs PHP %s on %s; attach %s instead',
                $name,
                $builtFor[0],
                $builtFor[1],
                $phpVersion,
                $arch,
                $instead ?? \sprintf('the same add-on built for PHP %s on %s', $minor, $arch),
            );
        }
        if ($problems !== []) {
            throw new InitFailure(ErrorTypes::ADDON_MISMATCH, ucfirst(implode('; ', $problems)) . '.');
        }
    }

    /** @return array<mixed>|null */
    private static function read(string $file): ?array
    {
        $text = @file_get_contents($file);
        $data = $text === false ? null : json_decode($text, true);
        return \is_array($data) ? $data : null;
    }
}
