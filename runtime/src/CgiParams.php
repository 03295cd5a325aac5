<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * Builds the CGI/1.1 environment (RFC 3875) that php-cgi receives as FastCGI params, with the
 * names and values nginx's fastcgi_params give PHP-FPM, plus the Lambda context.
 */
final class CgiParams
{
    public function __construct(private readonly string $documentRoot)
    {
    }

    /** @return array<string, string> */
    public function build(HttpRequest $request, Invocation $invocation, ScriptRoute $route): array
    {
        $scriptName = $route->scriptName;
        $pathInfo = $route->pathInfo;
        $documentRoot = $this->documentRoot;

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
        // As nginx's fastcgi_params: both always present, empty when the request had none, so PHP
        // sees "" as under PHP-FPM. CONTENT_LENGTH is given whenever the request had a Content-Length
        // (also "0" on a GET) or a body; its value is the decoded body's length, since the header
        // may describe the base64 form.
        $params['CONTENT_TYPE'] = $request->header('content-type') ?? '';
        $params['CONTENT_LENGTH'] = isset($request->headers['content-length']) || $request->body !== '' || \in_array($request->method, ['POST', 'PUT', 'PATCH'], true)
            ? (string) \strlen($request->body)
            : '';

        foreach ($request->headers as $name => $values) {
            // PHP turns numeric string keys ("12345") into integers.
            $name = (string) $name;
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
