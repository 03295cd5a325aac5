<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * An HTTP request as the event source described it, before any CGI naming.
 * Adapters fill it; CgiParams turns it into FastCGI params.
 */
final class HttpRequest
{
    /**
     * @param string $path        URL path as it should appear in REQUEST_URI (percent-encoded)
     * @param string $query       query string without "?", percent-encoded
     * @param array<string, list<string>> $headers lower-case name => every value received
     * @param list<string> $cookies cookie pairs ("a=1"); sources that fold them into a Cookie header leave this empty
     */
    public function __construct(
        public readonly string $source,
        public readonly string $method,
        public readonly string $path,
        public readonly string $query,
        public readonly array $headers,
        public readonly array $cookies,
        public readonly string $body,
        public readonly string $sourceIp,
        public readonly string $protocol,
        public readonly string $defaultScheme,
        public readonly ?string $domainName,
        public readonly bool $multiValueHeaders,
        /** @var array<mixed> */
        public readonly array $requestContext,
    ) {
    }

    public function header(string $lowerName): ?string
    {
        $values = $this->headers[$lowerName] ?? null;
        return $values === null || $values === [] ? null : $values[0];
    }
}

/** What php-cgi answered, with header names lower-cased and repeats kept in order. */
final class HttpResponse
{
    /**
     * @param list<array{0: string, 1: string}> $headers lower-case name, value
     */
    public function __construct(
        public readonly int $status,
        public readonly string $reason,
        public readonly array $headers,
        public readonly string $body,
    ) {
    }

    /** @return list<string> */
    public function values(string $lowerName): array
    {
        $out = [];
        foreach ($this->headers as [$name, $value]) {
            if ($name === $lowerName) {
                $out[] = $value;
            }
        }
        return $out;
    }

    /** @return array<string, list<string>> every header except those named in $except, grouped by name */
    public function grouped(array $except = []): array
    {
        $out = [];
        foreach ($this->headers as [$name, $value]) {
            if (!\in_array($name, $except, true)) {
                $out[$name][] = $value;
            }
        }
        return $out;
    }
}
