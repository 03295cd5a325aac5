<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * The invocation loop: take an event from the Runtime API, hand it to php-cgi as an HTTP
 * request, send back the response in the event source's shape — or a typed error, after which
 * the loop carries on with a php-cgi that is known to be healthy.
 */
final class Runtime
{
    /** Lambda's limit on a synchronous response (6 MB), as the Runtime API enforces it. */
    public const MAX_RESPONSE_BYTES = 6291556;

    public function __construct(
        private readonly RuntimeApiClient $api,
        private readonly PhpCgiServer $phpCgi,
        private readonly Router $router,
        private readonly CgiParams $params,
        /** null when static files are off */
        private readonly ?StaticFiles $staticFiles,
        /** how long before the invocation deadline a running request is aborted */
        private readonly int $deadlineMarginMs,
        /** stream HTTP responses (PHP_LAYER_RESPONSE_STREAMING) instead of buffering them */
        private readonly bool $streaming = false,
    ) {
    }

    /** Serves invocations until the process is stopped or the Runtime API fails. */
    public function loop(?int $maxInvocations = null): void
    {
        for ($served = 0; $maxInvocations === null || $served < $maxInvocations; $served++) {
            $invocation = $this->api->next();
            $this->serve($invocation);
        }
    }

    public function serve(Invocation $invocation): void
    {
        Log::setRequestId($invocation->requestId);
        // For X-Ray SDKs in this process (PHP gets it as a FastCGI param); never a stale one.
        putenv($invocation->traceId !== null ? '_X_AMZN_TRACE_ID=' . $invocation->traceId : '_X_AMZN_TRACE_ID');
        $stream = $this->streaming ? new ResponseStream($this->api, $invocation->requestId) : null;
        try {
            try {
                $payload = $this->handle($invocation, $stream);
            } catch (InvocationFailure $failure) {
                Log::runtime($failure->errorType . ': ' . $failure->getMessage());
                $this->fail($invocation, $stream, $failure);
                return;
            } catch (RuntimeApiError $e) {
                throw $e;
            } catch (\Throwable $e) {
                // A bug here must cost one invocation, not the sandbox.
                Log::runtime('unexpected ' . $e::class . ': ' . $e->getMessage() . "\n" . $e->getTraceAsString());
                $this->fail($invocation, $stream, new InvocationFailure(ErrorTypes::INTERNAL, 'The PHP runtime failed unexpectedly: ' . $e->getMessage()));
                return;
            }
            if ($payload === null) {
                return; // streamed
            }
            if ($this->api->respond($invocation->requestId, $payload) === 413) {
                // Our own size check should make this unreachable; if not, say so plainly.
                Log::runtime('the Runtime API refused the response as too large (' . \strlen($payload) . ' bytes)');
            }
        } catch (RuntimeApiError $e) {
            // A 4xx concerns this invocation only (already timed out, unknown id): move on.
            // Anything else (a 500 means "exit promptly", or no connection) ends the loop.
            if ($e->status < 400 || $e->status >= 500) {
                throw $e;
            }
            Log::runtime('the Runtime API refused our answer: ' . $e->getMessage());
        } finally {
            // Replacing a killed or worn-out php-cgi happens here, after the answer is out and
            // before the next /next, so neither this client nor the next one waits for it.
            $this->phpCgi->afterRequest();
            Log::setRequestId(null);
        }
    }

    /** Reports a failure: as an invocation error, or in the trailers of a stream already under way. */
    private function fail(Invocation $invocation, ?ResponseStream $stream, InvocationFailure $failure): void
    {
        if ($stream !== null && $stream->started()) {
            $stream->fail($failure);
            return;
        }
        $this->api->invocationError($invocation->requestId, $failure);
    }

    /** @return string|null the JSON invocation response, or null when it was streamed */
    private function handle(Invocation $invocation, ?ResponseStream $stream): ?string
    {
        try {
            $event = json_decode($invocation->payload, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new InvocationFailure(ErrorTypes::MALFORMED_EVENT, 'The event is not valid JSON (' . $e->getMessage() . '); this runtime expects an HTTP event from API Gateway, an Application Load Balancer or a function URL.');
        }
        if (WarmUp::isPing($event)) {
            return WarmUp::answer();
        }
        $source = EventSources::detect($event);
        /** @var array<mixed> $event */
        $request = $source->toRequest($event);
        $route = $this->router->route($request->path, $request->query);
        if ($stream !== null) {
            $this->stream($stream, $route, $request, $invocation);
            return null;
        }
        if ($route instanceof StaticRoute) {
            $response = ($this->staticFiles ?? throw new \LogicException('a static route while static files are off'))->serve($route->file, $request);
        } elseif ($route instanceof DirectoryRedirect) {
            $response = self::redirect($route->location);
        } else {
            $params = $this->params->build($request, $invocation, $route);
            $result = $this->runPhp($params, $request, $invocation);
            if ($result->stdoutTruncated) {
                throw $this->tooLarge('The PHP response body alone is ' . $result->stdoutBytes . ' bytes');
            }
            $response = CgiResponse::parse($result->stdout);
        }
        $payload = json_encode($source->toResponse($response, $request), JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        if ($payload === false) {
            throw new InvocationFailure(ErrorTypes::INTERNAL, 'Could not encode the response as JSON: ' . json_last_error_msg());
        }
        if (\strlen($payload) > self::MAX_RESPONSE_BYTES) {
            throw $this->tooLarge('The response payload (body ' . ($response->body === '' ? 'empty' : 'of ' . \strlen($response->body) . ' bytes') . ', encoded for ' . $request->source . ') is ' . \strlen($payload) . ' bytes');
        }
        return $payload;
    }

    /** The streaming counterpart of handle()'s second half: the answer goes out as it is produced. */
    private function stream(ResponseStream $stream, ScriptRoute|StaticRoute|DirectoryRedirect $route, HttpRequest $request, Invocation $invocation): void
    {
        if ($route instanceof StaticRoute) {
            $stream->send(($this->staticFiles ?? throw new \LogicException('a static route while static files are off'))->serve($route->file, $request));
            return;
        }
        if ($route instanceof DirectoryRedirect) {
            $stream->send(self::redirect($route->location));
            return;
        }
        $params = $this->params->build($request, $invocation, $route);
        $fatalAfterStart = false;
        $this->runPhp($params, $request, $invocation, $stream->write(...), static function (string $line) use (&$fatalAfterStart, $stream): void {
            // php-cgi reports a fatal error only in its log (its FastCGI exit status stays 0). One
            // that comes before any output still sets the status (500), which the stream then carries.
            if (!$fatalAfterStart && $stream->started() && preg_match('/PHP (Fatal|Parse) error:/', $line) === 1) {
                $fatalAfterStart = true;
            }
        });
        if ($fatalAfterStart) {
            // The status went out before the error: only the trailers can tell the client.
            throw new InvocationFailure(ErrorTypes::PHP_FATAL_ERROR, \sprintf('%s %s ended with a PHP fatal error after the response had started streaming (see the log above).', $request->method, $params['SCRIPT_NAME'] ?? ''));
        }
        $stream->end();
    }

    /**
     * @param array<string, string> $params
     * @param null|callable(string): void $onStdout streaming: stdout as it arrives
     * @param null|callable(string): void $onStderrLine also sees every log line
     */
    private function runPhp(array $params, HttpRequest $request, Invocation $invocation, ?callable $onStdout = null, ?callable $onStderrLine = null): FastCgiResult
    {
        $stderr = new LineBuffer($onStderrLine);
        $abortAtMs = $invocation->deadlineMs - $this->deadlineMarginMs;
        // The deadline is wall-clock; the wait is measured on the monotonic clock.
        $abortAt = hrtime(true) / 1e9 + max(0, $abortAtMs - (int) floor(microtime(true) * 1000)) / 1000;
        try {
            return $this->phpCgi->handle($params, $request->body, $abortAt, $stderr->push(...), self::MAX_RESPONSE_BYTES, $onStdout);
        } catch (PhpCgiTimeout) {
            $stderr->flush();
            $this->phpCgi->kill();
            throw new InvocationFailure(ErrorTypes::DEADLINE_EXCEEDED, sprintf(
                '%s %s was still running %d ms before the invocation deadline, so php-cgi was stopped and replaced. Make the request faster or raise the function timeout.',
                $request->method,
                $params['SCRIPT_NAME'] ?? '',
                $this->deadlineMarginMs,
            ));
        } catch (PhpCgiGone $e) {
            $stderr->flush();
            $this->phpCgi->kill();
            throw new InvocationFailure(ErrorTypes::PHP_CGI_CRASHED, sprintf(
                'php-cgi died while handling %s %s (%s); a fresh php-cgi serves the next invocation. Its last words (fatal signal, out of memory) are in the log above.',
                $request->method,
                $params['SCRIPT_NAME'] ?? '',
                $e->getMessage(),
            ));
        } catch (\UnexpectedValueException $e) {
            $stderr->flush();
            $this->phpCgi->kill();
            throw new InvocationFailure(ErrorTypes::INVALID_CGI_RESPONSE, 'php-cgi broke the FastCGI protocol (' . $e->getMessage() . '); a fresh php-cgi serves the next invocation.');
        } finally {
            $stderr->flush();
        }
    }

    private static function redirect(string $location): HttpResponse
    {
        $html = '<html><head><title>301 Moved Permanently</title></head><body><h1>301 Moved Permanently</h1><p><a href="'
            . htmlspecialchars($location, ENT_QUOTES) . '">' . htmlspecialchars($location, ENT_QUOTES) . "</a></p></body></html>\n";
        return new HttpResponse(301, 'Moved Permanently', [['location', $location], ['content-type', 'text/html']], $html);
    }

    private function tooLarge(string $what): InvocationFailure
    {
        return new InvocationFailure(ErrorTypes::RESPONSE_TOO_LARGE, $what . ', over the ' . self::MAX_RESPONSE_BYTES . '-byte (6 MB) limit of synchronous Lambda responses. Return less (paginate, compress) or hand out a pre-signed S3 URL instead.');
    }
}
