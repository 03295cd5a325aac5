<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * Turns php-cgi's stdout (CGI response: header lines, blank line, body) into an HttpResponse.
 * The status comes from the "Status:" header (RFC 3875 §6.3.3); without it a Location header
 * means 302 and anything else 200. An empty header block (output starting with a line break)
 * is valid: a script may remove every header php-cgi would send.
 */
final class CgiResponse
{
    public static function parse(string $stdout): HttpResponse
    {
        $head = self::parseHead($stdout);
        if ($head === null) {
            throw new InvocationFailure(ErrorTypes::INVALID_CGI_RESPONSE, 'php-cgi answered without a CGI header block (no blank line ends it; ' . \strlen($stdout) . ' bytes of output); see the log for what PHP printed.');
        }
        [$response, $offset] = $head;
        return new HttpResponse($response->status, $response->reason, $response->headers, (string) substr($stdout, $offset));
    }

    /**
     * The header block at the start of $output, once it is complete: the response without a body
     * and the offset where the body starts; null while the blank line that ends it has not come.
     *
     * @return array{0: HttpResponse, 1: int}|null
     */
    public static function parseHead(string $output): ?array
    {
        // The header block is read line by line from the very start and ends at the first empty
        // line; nothing after it is ever looked at. Searching the output for "\r\n\r\n" or "\n\n"
        // instead would take a body line such as "Name: value" for a header whenever the header
        // block is empty (a lone line break) or ends differently from how the body's lines do.
        $status = null;
        $reason = '';
        $headers = [];
        $offset = 0;
        while (true) {
            $eol = strpos($output, "\n", $offset);
            if ($eol === false) {
                return null;
            }
            $line = substr($output, $offset, $eol - $offset);
            $offset = $eol + 1;
            if ($line !== '' && $line[-1] === "\r") {
                $line = substr($line, 0, -1);
            }
            if ($line === '') {
                break;
            }
            $colon = strpos($line, ':');
            if ($colon === false || $colon === 0) {
                throw new InvocationFailure(ErrorTypes::INVALID_CGI_RESPONSE, 'php-cgi answered with a malformed CGI header line (' . json_encode(substr($line, 0, 80), JSON_INVALID_UTF8_SUBSTITUTE) . '); see the log for what PHP printed.');
            }
            $name = strtolower(trim(substr($line, 0, $colon)));
            $value = trim(substr($line, $colon + 1));
            if ($name === 'status') {
                if (preg_match('/^(\d{3})\s*(.*)$/', $value, $m)) {
                    $status = (int) $m[1];
                    $reason = $m[2];
                }
                continue;
            }
            $headers[] = [$name, $value];
        }
        if ($status === null) {
            $status = 200;
            foreach ($headers as [$name]) {
                if ($name === 'location') {
                    $status = 302;
                    break;
                }
            }
        }
        if ($reason === '') {
            $reason = self::REASONS[$status] ?? 'Unknown';
        }
        return [new HttpResponse($status, $reason, $headers, ''), $offset];
    }

    private const REASONS = [
        100 => 'Continue', 101 => 'Switching Protocols', 102 => 'Processing', 103 => 'Early Hints',
        200 => 'OK', 201 => 'Created', 202 => 'Accepted', 203 => 'Non-Authoritative Information',
        204 => 'No Content', 205 => 'Reset Content', 206 => 'Partial Content', 207 => 'Multi-Status',
        208 => 'Already Reported', 226 => 'IM Used',
        300 => 'Multiple Choices', 301 => 'Moved Permanently', 302 => 'Found', 303 => 'See Other',
        304 => 'Not Modified', 305 => 'Use Proxy', 307 => 'Temporary Redirect', 308 => 'Permanent Redirect',
        400 => 'Bad Request', 401 => 'Unauthorized', 402 => 'Payment Required', 403 => 'Forbidden',
        404 => 'Not Found', 405 => 'Method Not Allowed', 406 => 'Not Acceptable',
        407 => 'Proxy Authentication Required', 408 => 'Request Timeout', 409 => 'Conflict', 410 => 'Gone',
        411 => 'Length Required', 412 => 'Precondition Failed', 413 => 'Content Too Large',
        414 => 'URI Too Long', 415 => 'Unsupported Media Type', 416 => 'Range Not Satisfiable',
        417 => 'Expectation Failed', 418 => "I'm a teapot", 421 => 'Misdirected Request',
        422 => 'Unprocessable Content', 423 => 'Locked', 424 => 'Failed Dependency', 425 => 'Too Early',
        426 => 'Upgrade Required', 428 => 'Precondition Required', 429 => 'Too Many Requests',
        431 => 'Request Header Fields Too Large', 451 => 'Unavailable For Legal Reasons',
        500 => 'Internal Server Error', 501 => 'Not Implemented', 502 => 'Bad Gateway',
        503 => 'Service Unavailable', 504 => 'Gateway Timeout', 505 => 'HTTP Version Not Supported',
        506 => 'Variant Also Negotiates', 507 => 'Insufficient Storage', 508 => 'Loop Detected',
        510 => 'Not Extended', 511 => 'Network Authentication Required',
    ];
}

/**
 * Decides whether a response body travels as text or base64. JSON can only carry UTF-8, and
 * API Gateway and ALB only decode bodies flagged isBase64Encoded, so: base64 for media types
 * that are not text, for compressed bodies, and for anything that is not valid UTF-8.
 */
final class BodyEncoding
{
    public static function isBinary(HttpResponse $response): bool
    {
        $encoding = strtolower($response->values('content-encoding')[0] ?? '');
        if ($encoding !== '' && $encoding !== 'identity') {
            return true;
        }
        if (!self::isTextType($response->values('content-type')[0] ?? '')) {
            return true;
        }
        return preg_match('//u', $response->body) !== 1;
    }

    public static function isTextType(string $contentType): bool
    {
        $type = strtolower(trim(explode(';', $contentType, 2)[0]));
        if ($type === '' || str_starts_with($type, 'text/')) {
            return true;
        }
        if (str_ends_with($type, '+json') || str_ends_with($type, '+xml')) {
            return true;
        }
        return \in_array($type, [
            'application/json', 'application/javascript', 'application/ecmascript',
            'application/x-javascript', 'application/xml', 'application/x-www-form-urlencoded',
            'application/graphql', 'application/x-ndjson', 'application/yaml', 'application/x-yaml',
            'application/xhtml+xml', 'image/svg+xml',
        ], true);
    }
}
