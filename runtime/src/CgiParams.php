<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * Chooses the script for a URL path the way nginx + PHP-FPM front-controller set-ups do:
 *  - the first path segment ending in ".php" that names a file under the document root runs,
 *    and the rest of the path becomes PATH_INFO ("/admin.php/users" → admin.php + "/users");
 *  - every other path goes to the front controller (_HANDLER) with an empty PATH_INFO.
 * Only ".php" files are ever given to php-cgi, so an uploaded "avatar.jpg" holding PHP code
 * or a "notes.txt" is never executed, whatever path points at it.
 */
final class ScriptResolver
{
    private readonly string $rootPrefix;

    public function __construct(
        public readonly string $documentRoot,
        /** front controller, relative to the document root, with a leading "/" */
        public readonly string $frontController,
    ) {
        $this->rootPrefix = rtrim($documentRoot, '/') . '/';
    }

    /** @return array{0: string, 1: string} SCRIPT_NAME, PATH_INFO */
    public function resolve(string $decodedPath): array
    {
        if (str_contains($decodedPath, '.php') && !str_contains($decodedPath, "\0")) {
            $segments = explode('/', ltrim($decodedPath, '/'));
            $prefix = '';
            foreach ($segments as $i => $segment) {
                $prefix .= '/' . $segment;
                if (!str_ends_with($segment, '.php') || $segment === '.php') {
                    continue;
                }
                if ($this->isScript($prefix)) {
                    $rest = \array_slice($segments, $i + 1);
                    return [$prefix, $rest === [] ? '' : '/' . implode('/', $rest)];
                }
            }
        }
        return [$this->frontController, ''];
    }

    private function isScript(string $relative): bool
    {
        if (str_contains($relative, '/../') || str_contains($relative, '/./')) {
            return false;
        }
        $real = realpath($this->rootPrefix . ltrim($relative, '/'));
        // realpath() follows symlinks: the target must still be a .php file inside the root.
        return $real !== false && str_starts_with($real, $this->rootPrefix) && str_ends_with($real, '.php') && is_file($real);
    }
}

/**
 * Builds the CGI/1.1 environment (RFC 3875) that php-cgi receives as FastCGI params, with the
 * names and values nginx's fastcgi_params give PHP-FPM, plus the Lambda context.
 */
final class CgiParams
{
    public function __construct(private readonly ScriptResolver $scripts)
    {
    }

    /** @return array<string, string> */
    public function build(HttpRequest $request, Invocation $invocation): array
    {
        [$scriptName, $pathInfo] = $this->scripts->resolve(rawurldecode($request->path));
        $documentRoot = $this->scripts->documentRoot;

        $forwardedProto = strtolower(trim(explode(',', $request->header('x-forwarded-proto') ?? '')[0]));
        $scheme = $forwardedProto === 'https' || $forwardedProto === 'http' ? $forwardedProto : $request->defaultScheme;
        $forwardedPort = trim(explode(',', $request->header('x-forwarded-port') ?? '')[0]);
        $port = preg_match('/^\d{1,5}$/', $forwardedPort) === 1 ? $forwardedPort : ($scheme === 'https' ? '443' : '80');
        $host = $request->header('host') ?? $request->domainName ?? 'localhost';
        $serverName = preg_replace('/:\d+$/', '', $host) ?? $host;

        $params = [
            'GATEWAY_INTERFACE' => 'CGI/1.1',
            'SERVER_SOFTWARE' => 'php-lambda-runtime',
            'SERVER_PROTOCOL' => $request->protocol,
            'SERVER_NAME' => $serverName,
            'SERVER_PORT' => $port,
            'REQUEST_SCHEME' => $scheme,
            'REMOTE_ADDR' => $request->sourceIp !== '' ? $request->sourceIp : '0.0.0.0',
            'REQUEST_METHOD' => $request->method,
            'REQUEST_URI' => $request->path . ($request->query !== '' ? '?' . $request->query : ''),
            'QUERY_STRING' => $request->query,
            'DOCUMENT_ROOT' => $documentRoot,
            'DOCUMENT_URI' => $scriptName . $pathInfo,
            'SCRIPT_NAME' => $scriptName,
            'SCRIPT_FILENAME' => $documentRoot . $scriptName,
            'PATH_INFO' => $pathInfo,
            // php-cgi refuses to run without it when cgi.force_redirect is on (the default).
            'REDIRECT_STATUS' => '200',
        ];
        if ($scheme === 'https') {
            $params['HTTPS'] = 'on';
        }
        if ($pathInfo !== '') {
            $params['PATH_TRANSLATED'] = $documentRoot . $pathInfo;
        }
        $contentType = $request->header('content-type');
        if ($contentType !== null) {
            $params['CONTENT_TYPE'] = $contentType;
        }
        if ($request->body !== '' || \in_array($request->method, ['POST', 'PUT', 'PATCH'], true)) {
            $params['CONTENT_LENGTH'] = (string) \strlen($request->body);
        }

        foreach ($request->headers as $name => $values) {
            // Names that cannot be told apart from others once turned into HTTP_* (underscores),
            // ones already given as CGI variables, and "Proxy" (HTTP_PROXY, see httpoxy) are
            // dropped, as nginx does.
            if ($name === 'content-type' || $name === 'content-length' || $name === 'proxy' || !preg_match('/^[a-z0-9-]+$/', $name)) {
                continue;
            }
            if ($name === 'cookie' && $request->cookies !== []) {
                continue;
            }
            $params['HTTP_' . strtoupper(str_replace('-', '_', $name))] = implode($name === 'cookie' ? '; ' : ', ', $values);
        }
        if ($request->cookies !== []) {
            $params['HTTP_COOKIE'] = implode('; ', $request->cookies);
        }

        $params['LAMBDA_EVENT_SOURCE'] = $request->source;
        $params['LAMBDA_REQUEST_ID'] = $invocation->requestId;
        $params['LAMBDA_INVOCATION_CONTEXT'] = self::json($invocation->context());
        $params['LAMBDA_REQUEST_CONTEXT'] = self::json($request->requestContext);
        if ($invocation->traceId !== null) {
            $params['_X_AMZN_TRACE_ID'] = $invocation->traceId;
        }
        return $params;
    }

    private static function json(mixed $value): string
    {
        return (string) json_encode($value === [] ? new \stdClass() : $value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
    }
}
