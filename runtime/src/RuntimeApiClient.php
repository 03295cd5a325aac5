<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/** One event handed out by /invocation/next, with the context headers that came with it. */
final class Invocation
{
    public function __construct(
        public readonly string $requestId,
        public readonly int $deadlineMs,
        public readonly string $functionArn,
        public readonly ?string $traceId,
        public readonly ?string $clientContext,
        public readonly ?string $cognitoIdentity,
        public readonly string $payload,
    ) {
    }

    /** Context PHP can read from $_SERVER['LAMBDA_INVOCATION_CONTEXT'] (JSON). */
    public function context(): array
    {
        $context = [
            'awsRequestId' => $this->requestId,
            'invokedFunctionArn' => $this->functionArn,
            'deadlineMs' => $this->deadlineMs,
            'traceId' => $this->traceId,
        ];
        if ($this->clientContext !== null) {
            $context['clientContext'] = json_decode($this->clientContext, true) ?? $this->clientContext;
        }
        if ($this->cognitoIdentity !== null) {
            $context['identity'] = json_decode($this->cognitoIdentity, true) ?? $this->cognitoIdentity;
        }
        return $context;
    }
}

/**
 * Client for the Lambda Runtime API (version 2018-06-01): plain HTTP/1.1 over one kept-alive TCP
 * connection to AWS_LAMBDA_RUNTIME_API. Written against PHP streams so the bootstrap needs no
 * curl or sockets extension.
 */
final class RuntimeApiClient
{
    private const PREFIX = '/2018-06-01/runtime';
    /** @var resource|null */
    private $socket = null;
    /** bytes read from the socket and not yet consumed */
    private string $buffer = '';

    public function __construct(private readonly string $hostPort)
    {
    }

    public function next(): Invocation
    {
        [$status, $headers, $body] = $this->request('GET', self::PREFIX . '/invocation/next');
        if ($status !== 200) {
            throw new RuntimeApiError("GET /invocation/next answered $status: " . substr($body, 0, 500), $status);
        }
        $requestId = $headers['lambda-runtime-aws-request-id'] ?? '';
        if ($requestId === '') {
            throw new RuntimeApiError('GET /invocation/next answered without Lambda-Runtime-Aws-Request-Id');
        }
        return new Invocation(
            $requestId,
            (int) ($headers['lambda-runtime-deadline-ms'] ?? 0),
            $headers['lambda-runtime-invoked-function-arn'] ?? '',
            $headers['lambda-runtime-trace-id'] ?? null,
            $headers['lambda-runtime-client-context'] ?? null,
            $headers['lambda-runtime-cognito-identity'] ?? null,
            $body,
        );
    }

    /** @return int the Runtime API's status (202 accepted, 413 payload too large, …) */
    public function respond(string $requestId, string $payload): int
    {
        [$status, , $body] = $this->request('POST', self::PREFIX . '/invocation/' . rawurlencode($requestId) . '/response', $payload, 'application/json');
        if ($status !== 202 && $status !== 413) {
            throw new RuntimeApiError("POST /response answered $status: " . substr($body, 0, 500), $status);
        }
        return $status;
    }

    /**
     * Starts a streamed response (Lambda-Runtime-Function-Response-Mode: streaming): the body follows
     * in chunks through streamWrite(), and streamEnd() finishes it, with error trailers if it failed.
     */
    public function streamStart(string $requestId, string $contentType): void
    {
        $head = 'POST ' . self::PREFIX . '/invocation/' . rawurlencode($requestId) . "/response HTTP/1.1\r\n"
            . "Host: {$this->hostPort}\r\n"
            . "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
            . "Transfer-Encoding: chunked\r\n"
            . "Content-Type: $contentType\r\n"
            . "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n";
        $reused = $this->socket !== null;
        try {
            $this->write($this->socket ??= $this->connect(), $head);
        } catch (RuntimeApiError $e) {
            // As in request(): a kept-alive connection the other side closed; one fresh try.
            $this->disconnect();
            if (!$reused) {
                throw $e;
            }
            $this->write($this->socket = $this->connect(), $head);
        }
    }

    public function streamWrite(string $data): void
    {
        if ($data === '') {
            return; // an empty chunk would end the body
        }
        $this->write($this->socket ?? throw new RuntimeApiError('no response stream is open'), dechex(\strlen($data)) . "\r\n" . $data . "\r\n");
    }

    /** @return int the Runtime API's status */
    public function streamEnd(?RuntimeFailure $failure = null): int
    {
        $socket = $this->socket ?? throw new RuntimeApiError('no response stream is open');
        $tail = "0\r\n";
        if ($failure !== null) {
            $body = json_encode(['errorMessage' => $failure->getMessage(), 'errorType' => $failure->errorType, 'stackTrace' => []], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
            $tail .= 'Lambda-Runtime-Function-Error-Type: ' . $failure->errorType . "\r\n"
                . 'Lambda-Runtime-Function-Error-Body: ' . base64_encode((string) $body) . "\r\n";
        }
        $this->write($socket, $tail . "\r\n");
        [$status, , $answer] = $this->readAnswer($socket);
        if ($status !== 202 && $status !== 413) {
            throw new RuntimeApiError("POST /response (streamed) answered $status: " . substr($answer, 0, 500), $status);
        }
        return $status;
    }

    public function invocationError(string $requestId, RuntimeFailure $failure): void
    {
        $this->postError(self::PREFIX . '/invocation/' . rawurlencode($requestId) . '/error', $failure);
    }

    public function initError(RuntimeFailure $failure): void
    {
        $this->postError(self::PREFIX . '/init/error', $failure);
    }

    private function postError(string $path, RuntimeFailure $failure): void
    {
        $body = json_encode([
            'errorMessage' => $failure->getMessage(),
            'errorType' => $failure->errorType,
            'stackTrace' => [],
        ], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        [$status, , $answer] = $this->request('POST', $path, (string) $body, 'application/vnd.aws.lambda.error+json', [
            'Lambda-Runtime-Function-Error-Type' => $failure->errorType,
        ]);
        if ($status !== 202) {
            throw new RuntimeApiError("POST $path answered $status: " . substr($answer, 0, 500), $status);
        }
    }

    /**
     * @param array<string, string> $extraHeaders
     * @return array{0: int, 1: array<string, string>, 2: string}
     */
    private function request(string $method, string $path, ?string $body = null, ?string $contentType = null, array $extraHeaders = []): array
    {
        $head = "$method $path HTTP/1.1\r\nHost: {$this->hostPort}\r\n";
        if ($body !== null) {
            $head .= 'Content-Length: ' . \strlen($body) . "\r\n";
            if ($contentType !== null) {
                $head .= "Content-Type: $contentType\r\n";
            }
        }
        foreach ($extraHeaders as $name => $value) {
            $head .= $name . ': ' . preg_replace('/[\r\n]+/', ' ', $value) . "\r\n";
        }
        $message = $head . "\r\n" . ($body ?? '');

        // A kept-alive connection may have been closed by the other side while we were busy;
        // that shows up as a failed write or an empty read, and one fresh connection fixes it.
        // A fresh connection that fails the same way is a real error.
        $reused = $this->socket !== null;
        try {
            return $this->exchange($message);
        } catch (RuntimeApiError $e) {
            $this->disconnect();
            if (!$reused || $e->status !== -1) {
                throw $e;
            }
            return $this->exchange($message);
        }
    }

    /** @return array{0: int, 1: array<string, string>, 2: string} */
    private function exchange(string $message): array
    {
        $socket = $this->socket ??= $this->connect();
        $this->write($socket, $message);
        return $this->readAnswer($socket);
    }

    /** @param resource $socket */
    private function write($socket, string $message): void
    {
        $written = 0;
        $length = \strlen($message);
        while ($written < $length) {
            $n = @fwrite($socket, $written === 0 ? $message : substr($message, $written));
            if ($n === false || $n === 0) {
                throw new RuntimeApiError('could not send to the Runtime API at ' . $this->hostPort, -1);
            }
            $written += $n;
        }
    }

    /**
     * @param resource $socket
     * @return array{0: int, 1: array<string, string>, 2: string}
     */
    private function readAnswer($socket): array
    {
        // Wait in select() rather than in a read: PHP retries a read interrupted by a signal
        // without returning, so SIGTERM handlers would never run while /next is pending.
        do {
            $ready = [$socket];
            $none = null;
        } while ($this->buffer === '' && !@stream_select($ready, $none, $none, null));

        // The status line and headers in one go: the answer usually arrives in one segment.
        while (($end = strpos($this->buffer, "\r\n\r\n")) === false) {
            if (!$this->fill($socket)) {
                throw $this->buffer === ''
                    ? new RuntimeApiError('the Runtime API at ' . $this->hostPort . ' closed the connection', -1)
                    : new RuntimeApiError('the Runtime API closed the connection in the middle of a response');
            }
        }
        $lines = explode("\r\n", substr($this->buffer, 0, $end));
        $this->buffer = (string) substr($this->buffer, $end + 4);
        if (!preg_match('#^HTTP/1\.[01] (\d{3})#', $lines[0], $m)) {
            throw new RuntimeApiError('unexpected answer from the Runtime API: ' . trim($lines[0]));
        }
        $status = (int) $m[1];
        $headers = [];
        for ($i = 1, $n = \count($lines); $i < $n; $i++) {
            $colon = strpos($lines[$i], ':');
            if ($colon !== false) {
                $headers[strtolower(substr($lines[$i], 0, $colon))] = trim(substr($lines[$i], $colon + 1));
            }
        }
        if (isset($headers['content-length'])) {
            $body = $this->readExactly($socket, (int) $headers['content-length']);
        } elseif (str_contains(strtolower($headers['transfer-encoding'] ?? ''), 'chunked')) {
            $body = $this->readChunked($socket);
        } else {
            $body = $this->buffer . stream_get_contents($socket);
            $this->buffer = '';
            $headers['connection'] = 'close';
        }
        if (strtolower($headers['connection'] ?? '') === 'close') {
            $this->disconnect();
        }
        return [$status, $headers, $body];
    }

    /**
     * Reads what the socket has (at least one byte, waiting if need be) into the buffer.
     *
     * @param resource $socket
     * @return bool false at end of stream
     */
    private function fill($socket): bool
    {
        $chunk = @fread($socket, 65536);
        if ($chunk === false || $chunk === '') {
            return false;
        }
        $this->buffer .= $chunk;
        return true;
    }

    /** @return resource */
    private function connect()
    {
        $context = stream_context_create(['socket' => ['tcp_nodelay' => true]]);
        $socket = @stream_socket_client('tcp://' . $this->hostPort, $errno, $errstr, 10, STREAM_CLIENT_CONNECT, $context);
        if ($socket === false) {
            throw new RuntimeApiError("cannot connect to the Runtime API at {$this->hostPort}: $errstr ($errno)");
        }
        // /next blocks until Lambda has an event; the sandbox may be frozen for hours meanwhile.
        stream_set_timeout($socket, 31536000);
        return $socket;
    }

    /** @param resource $socket */
    private function readExactly($socket, int $length): string
    {
        // fread() in a loop, not stream_get_contents($socket, $n): from 32 KiB on, PHP's copy ignores the length
        // and reads to end-of-file, which on a kept-alive connection never comes.
        while (\strlen($this->buffer) < $length) {
            if (!$this->fill($socket)) {
                throw new RuntimeApiError('the Runtime API closed the connection in the middle of a response');
            }
        }
        if (\strlen($this->buffer) === $length) {
            [$body, $this->buffer] = [$this->buffer, ''];
            return $body;
        }
        $body = substr($this->buffer, 0, $length);
        $this->buffer = substr($this->buffer, $length);
        return $body;
    }

    /** @param resource $socket */
    private function readLine($socket): string
    {
        while (($eol = strpos($this->buffer, "\r\n")) === false) {
            if (!$this->fill($socket)) {
                throw new RuntimeApiError('the Runtime API closed the connection in the middle of a chunked response');
            }
        }
        $line = substr($this->buffer, 0, $eol);
        $this->buffer = substr($this->buffer, $eol + 2);
        return $line;
    }

    /** @param resource $socket */
    private function readChunked($socket): string
    {
        $body = '';
        while (true) {
            $size = hexdec(trim(explode(';', $this->readLine($socket), 2)[0]));
            if ($size === 0) {
                while ($this->readLine($socket) !== '') {
                    // trailers are not used by the Runtime API
                }
                return $body;
            }
            $body .= $this->readExactly($socket, (int) $size);
            $this->readLine($socket);
        }
    }

    private function disconnect(): void
    {
        $this->buffer = '';
        if ($this->socket !== null) {
            @fclose($this->socket);
            $this->socket = null;
        }
    }
}
