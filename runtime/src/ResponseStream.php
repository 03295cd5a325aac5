<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * One streamed response (Lambda response streaming, for function URLs in RESPONSE_STREAM mode and
 * streaming API Gateway integrations): php-cgi's output is forwarded as it arrives. Nothing is
 * sent until the CGI header block is complete; then the stream opens with the HTTP integration
 * prelude (status, headers, cookies as JSON, then eight NUL bytes) and every later byte of the
 * body goes out as it comes, binary as it is. A failure after that point can no longer change the
 * status: it ends the stream with the error trailers.
 */
final class ResponseStream
{
    public const CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
    /** A header block longer than this is not a CGI header block. */
    private const MAX_HEAD_BYTES = 65536;

    private string $head = '';
    private bool $started = false;
    private int $bodyBytes = 0;

    public function __construct(
        private readonly RuntimeApiClient $api,
        private readonly string $requestId,
    ) {
    }

    public function started(): bool
    {
        return $this->started;
    }

    /** FastCGI stdout, as it arrives. */
    public function write(string $chunk): void
    {
        if ($this->started) {
            $this->bodyBytes += \strlen($chunk);
            $this->api->streamWrite($chunk);
            return;
        }
        $this->head .= $chunk;
        $parsed = CgiResponse::parseHead($this->head);
        if ($parsed === null) {
            if (\strlen($this->head) > self::MAX_HEAD_BYTES) {
                throw new InvocationFailure(ErrorTypes::INVALID_CGI_RESPONSE, 'php-cgi sent more than ' . self::MAX_HEAD_BYTES . ' bytes without ending its CGI header block.');
            }
            return;
        }
        [$response, $offset] = $parsed;
        $rest = (string) substr($this->head, $offset);
        $this->head = '';
        $this->begin($response);
        $this->write($rest);
    }

    /** Sends a whole response (a static file, a redirect) as a stream. */
    public function send(HttpResponse $response): int
    {
        $this->begin($response);
        $this->write($response->body);
        return $this->end();
    }

    /** After php-cgi finished: ends the stream (or sends what little there was). */
    public function end(): int
    {
        if (!$this->started) {
            // php-cgi ended before the blank line: report it as the buffered mode would.
            CgiResponse::parse($this->head);
        }
        return $this->api->streamEnd();
    }

    /** Ends a started stream with the error trailers. */
    public function fail(RuntimeFailure $failure): void
    {
        Log::runtime($failure->errorType . ' after ' . $this->bodyBytes . ' streamed body bytes: ' . $failure->getMessage());
        $this->api->streamEnd($failure);
    }

    private function begin(HttpResponse $response): void
    {
        $prelude = ['statusCode' => $response->status, 'headers' => ResponseShape::singleValue($response->grouped(['set-cookie']))];
        $cookies = $response->values('set-cookie');
        if ($cookies !== []) {
            $prelude['cookies'] = $cookies;
        }
        $this->api->streamStart($this->requestId, self::CONTENT_TYPE);
        $this->started = true;
        $this->api->streamWrite(json_encode($prelude, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE) . str_repeat("\0", 8));
    }
}
