<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * Rebuilding URLs from what event sources hand over. Sources disagree: API Gateway REST gives
 * decoded query parameters, ALB passes them through as the client sent them, HTTP API gives a
 * raw query string. Everything here ends as a string that is valid in a request line, so PHP
 * decodes it exactly once.
 */
final class Url
{
    // RFC 3986 pchar plus "/" (and "?" in a query); "%" only as the start of an escape.
    private const PATH_UNSAFE = '~[^A-Za-z0-9\-._\~!$&\'()*+,;=:@/%]|%(?![0-9A-Fa-f]{2})~';
    private const QUERY_UNSAFE = '~[^A-Za-z0-9\-._\~!$&\'()*+,;=:@/?%]|%(?![0-9A-Fa-f]{2})~';

    /** Encodes what may not appear raw in a path, leaving existing escapes alone. */
    public static function path(string $path): string
    {
        if ($path === '' || $path[0] !== '/') {
            $path = '/' . $path;
        }
        return self::escape(self::PATH_UNSAFE, $path);
    }

    /** Same for a query string that is already in wire form (ALB values, raw query strings). */
    public static function query(string $query): string
    {
        return self::escape(self::QUERY_UNSAFE, $query);
    }

    /**
     * Builds a query string from decoded names and values, keeping every value of repeated names
     * in order. Names are kept as they are (dots and brackets included): turning "a.b" into
     * "a_b" is PHP's business when it fills $_GET, and QUERY_STRING must show what was sent.
     *
     * @param array<array-key, mixed> $params name => value or list of values
     */
    public static function buildQuery(array $params, bool $alreadyEncoded): string
    {
        $pairs = [];
        foreach ($params as $name => $values) {
            $name = (string) $name;
            foreach (\is_array($values) ? $values : [$values] as $value) {
                $value = \is_scalar($value) ? (string) $value : '';
                $pairs[] = $alreadyEncoded
                    ? self::escapeComponent($name) . '=' . self::escapeComponent($value)
                    : rawurlencode($name) . '=' . rawurlencode($value);
            }
        }
        return implode('&', $pairs);
    }

    /** A wire-form component must still not contain raw separators or unsafe bytes. */
    private static function escapeComponent(string $component): string
    {
        return str_replace(['&', '='], ['%26', '%3D'], self::query($component));
    }

    private static function escape(string $pattern, string $subject): string
    {
        return (string) preg_replace_callback($pattern, static fn (array $m): string => rawurlencode($m[0]), $subject);
    }
}
