<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * Answers requests for files in the function's package without PHP, as nginx's static module
 * would: media type by extension (from the mime-db table generated at assembly), ETag and
 * Last-Modified in nginx's formats, 304 for a matching If-None-Match or If-Modified-Since,
 * bodies for GET only. Range requests get the whole file (200): Lambda answers are buffered and
 * at most 6 MB, so partial content would save nothing worth its complexity.
 */
final class StaticFiles
{
    /** @var array<string, string>|null extension => media type */
    private ?array $types = null;

    public function __construct(
        /** mime-types.php, generated at assembly (see builder/assemble/runtime-files.ts) */
        private readonly string $mimeTable,
        /** Cache-Control for every file served, or null for none */
        private readonly ?string $cacheControl,
        /** the response payload limit; larger files get a 413 answer instead */
        private readonly int $maxPayloadBytes,
    ) {
        if (!is_file($mimeTable)) {
            throw new InitFailure(ErrorTypes::INVALID_CONFIGURATION, "The MIME table $mimeTable is missing: the runtime directory must be assembled by the layer build (npm run build), not copied from runtime/src. Or set PHP_LAYER_STATIC_FILES=off.");
        }
    }

    public function serve(string $file, HttpRequest $request): HttpResponse
    {
        $stat = @stat($file);
        if ($stat === false) {
            // Gone between routing and now: nginx would answer 404 as well.
            return self::plain(404, 'Not Found');
        }
        $method = $request->method;
        if ($method !== 'GET' && $method !== 'HEAD') {
            return self::plain(405, 'Method Not Allowed', [['allow', 'GET, HEAD']]);
        }
        $size = $stat['size'];
        $mtime = $stat['mtime'];
        $type = $this->type($file);
        $etag = sprintf('"%x-%x"', $mtime, $size);
        $lastModified = gmdate('D, d M Y H:i:s', $mtime) . ' GMT';
        $headers = [['content-type', $type], ['last-modified', $lastModified], ['etag', $etag]];
        if ($this->cacheControl !== null) {
            $headers[] = ['cache-control', $this->cacheControl];
        }

        if ($this->notModified($request, $etag, $mtime)) {
            return new HttpResponse(304, 'Not Modified', array_slice($headers, 1), '');
        }
        // Worst case on the wire: base64 (4 bytes per 3) inside the JSON answer, plus headers.
        if (intdiv($size + 2, 3) * 4 + 4096 > $this->maxPayloadBytes && (!BodyEncoding::isTextType($type) || $size + 4096 > $this->maxPayloadBytes)) {
            Log::runtime("$file is $size bytes, too large for a Lambda response (6 MB, base64 included); answered 413");
            return self::plain(413, 'Content Too Large', [], basename($file) . " is $size bytes, more than a Lambda function can return (6 MB, counting base64 encoding). Serve large files from S3 or a CDN.\n");
        }
        // No Content-Length: API Gateway, ALB and function URLs set it from the body they send.
        if ($method === 'HEAD') {
            return new HttpResponse(200, 'OK', $headers, '');
        }
        $body = @file_get_contents($file);
        if ($body === false) {
            return self::plain(403, 'Forbidden');
        }
        return new HttpResponse(200, 'OK', $headers, $body);
    }

    public function type(string $file): string
    {
        $dot = strrpos(basename($file), '.');
        if ($dot === false) {
            return 'application/octet-stream';
        }
        $this->types ??= require $this->mimeTable;
        return $this->types[strtolower(substr(basename($file), $dot + 1))] ?? 'application/octet-stream';
    }

    private function notModified(HttpRequest $request, string $etag, int $mtime): bool
    {
        $ifNoneMatch = $request->header('if-none-match');
        if ($ifNoneMatch !== null) {
            // Takes precedence over If-Modified-Since (RFC 9110 §13.2.2); weak comparison.
            foreach (explode(',', $ifNoneMatch) as $candidate) {
                $candidate = trim($candidate);
                if ($candidate === '*' || $candidate === $etag || $candidate === 'W/' . $etag) {
                    return true;
                }
            }
            return false;
        }
        $ifModifiedSince = $request->header('if-modified-since');
        if ($ifModifiedSince !== null) {
            $since = self::httpDate($ifModifiedSince);
            return $since !== null && $mtime <= $since;
        }
        return false;
    }

    /**
     * An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", what browsers send back) as a timestamp.
     * Parsed by hand with gmmktime(): strtotime() needs a timezone database, which a PHP built
     * against the system's tzdata cannot open in a sandbox without /usr/share/zoneinfo.
     */
    private static function httpDate(string $value): ?int
    {
        if (preg_match('/^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/', trim($value), $m) !== 1) {
            return null;
        }
        $month = array_search(ucfirst(strtolower($m[2])), ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'], true);
        if ($month === false) {
            return null;
        }
        return gmmktime((int) $m[4], (int) $m[5], (int) $m[6], $month + 1, (int) $m[1], (int) $m[3]);
    }

    /** @param list<array{0: string, 1: string}> $headers */
    private static function plain(int $status, string $reason, array $headers = [], ?string $body = null): HttpResponse
    {
        $headers[] = ['content-type', 'text/plain; charset=utf-8'];
        return new HttpResponse($status, $reason, $headers, $body ?? "$status $reason\n");
    }
}
