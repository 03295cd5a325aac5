<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * FastCGI 1.0 wire format (record framing and name-value pairs), as far as a Responder client
 * needs it. Record = 8-byte header (version, type, request id, content length, padding length,
 * reserved) + content + padding.
 */
final class FastCgi
{
    public const BEGIN_REQUEST = 1;
    public const ABORT_REQUEST = 2;
    public const END_REQUEST = 3;
    public const PARAMS = 4;
    public const STDIN = 5;
    public const STDOUT = 6;
    public const STDERR = 7;
    public const GET_VALUES = 9;
    public const GET_VALUES_RESULT = 10;
    public const UNKNOWN_TYPE = 11;

    public const RESPONDER = 1;
    public const KEEP_CONN = 1;

    public const REQUEST_COMPLETE = 0;

    /** Largest content one record can carry. */
    public const MAX_CONTENT = 65535;

    public static function record(int $type, int $requestId, string $content): string
    {
        return pack('CCnnCx', 1, $type, $requestId, \strlen($content), 0) . $content;
    }

    /** A record type whose content may exceed one record is sent as a series, ended by an empty one. */
    public static function stream(int $type, int $requestId, string $content): string
    {
        $out = '';
        $length = \strlen($content);
        for ($offset = 0; $offset < $length; $offset += self::MAX_CONTENT) {
            $out .= self::record($type, $requestId, substr($content, $offset, self::MAX_CONTENT));
        }
        return $out . self::record($type, $requestId, '');
    }

    /**
     * Lengths under 128 take one byte, longer ones four with the high bit set. This runs for
     * each of the ~30 params of every request, so the encoding is inline: a helper call per
     * length was a third of the function's time.
     *
     * @param array<string, string> $pairs
     */
    public static function encodePairs(array $pairs): string
    {
        $out = '';
        foreach ($pairs as $name => $value) {
            $name = (string) $name;
            $nameLength = \strlen($name);
            $valueLength = \strlen($value);
            $out .= ($nameLength < 128 ? \chr($nameLength) : pack('N', $nameLength | 0x80000000))
                . ($valueLength < 128 ? \chr($valueLength) : pack('N', $valueLength | 0x80000000))
                . $name . $value;
        }
        return $out;
    }

    /** @return array<string, string> */
    public static function decodePairs(string $data): array
    {
        $pairs = [];
        $offset = 0;
        $end = \strlen($data);
        while ($offset < $end) {
            $nameLength = self::readLength($data, $offset);
            $valueLength = self::readLength($data, $offset);
            $pairs[substr($data, $offset, $nameLength)] = substr($data, $offset + $nameLength, $valueLength);
            $offset += $nameLength + $valueLength;
        }
        return $pairs;
    }

    public static function beginRequest(int $requestId, bool $keepConnection): string
    {
        return self::record(self::BEGIN_REQUEST, $requestId, pack('nCx5', self::RESPONDER, $keepConnection ? self::KEEP_CONN : 0));
    }

    private static function readLength(string $data, int &$offset): int
    {
        $first = \ord($data[$offset] ?? "\0");
        if ($first < 128) {
            $offset += 1;
            return $first;
        }
        $length = unpack('N', substr($data, $offset, 4))[1] & 0x7fffffff;
        $offset += 4;
        return $length;
    }
}

/** What came back for one request: stdout (capped), how much there was, and how it ended. */
final class FastCgiResult
{
    public function __construct(
        public readonly string $stdout,
        public readonly int $stdoutBytes,
        public readonly bool $stdoutTruncated,
        public readonly int $appStatus,
        public readonly int $protocolStatus,
    ) {
    }
}

/** Reassembles records from the byte stream of one request and demultiplexes them. */
final class FastCgiReader
{
    private string $buffer = '';
    /** @var list<string> */
    private array $stdout = [];
    private int $kept = 0;
    private int $total = 0;
    private bool $truncated = false;

    /**
     * @param null|callable(string): void $onStderr
     * @param null|callable(string): void $onStdout when given, stdout goes here as it arrives and is not kept
     */
    public function __construct(private readonly int $maxStdout, private readonly mixed $onStderr, private readonly bool $probe, private readonly mixed $onStdout = null)
    {
    }

    /** Returns the result once FCGI_END_REQUEST (or, for a probe, FCGI_GET_VALUES_RESULT) arrived. */
    public function feed(string $chunk): ?FastCgiResult
    {
        $buffer = $this->buffer === '' ? $chunk : $this->buffer . $chunk;
        $offset = 0;
        $available = \strlen($buffer);
        while ($available - $offset >= 8) {
            /** @var array{version: int, type: int, id: int, length: int, padding: int} $header */
            $header = unpack('Cversion/Ctype/nid/nlength/Cpadding', $buffer, $offset);
            $size = 8 + $header['length'] + $header['padding'];
            if ($available - $offset < $size) {
                break;
            }
            $content = substr($buffer, $offset + 8, $header['length']);
            $offset += $size;
            switch ($header['type']) {
                case FastCgi::STDOUT:
                    $length = \strlen($content);
                    $this->total += $length;
                    if ($this->onStdout !== null) {
                        if ($length > 0) {
                            ($this->onStdout)($content);
                        }
                    } elseif ($this->kept + $length <= $this->maxStdout) {
                        $this->stdout[] = $content;
                        $this->kept += $length;
                    } else {
                        // Keep reading so php-cgi can finish, but stop holding the bytes.
                        $this->truncated = true;
                    }
                    break;
                case FastCgi::STDERR:
                    if ($this->onStderr !== null) {
                        ($this->onStderr)($content);
                    }
                    break;
                case FastCgi::END_REQUEST:
                    /** @var array{appStatus: int, protocolStatus: int} $end */
                    $end = unpack('NappStatus/CprotocolStatus', $content . "\0\0\0\0\0");
                    $this->buffer = '';
                    return new FastCgiResult(implode('', $this->stdout), $this->total, $this->truncated, $end['appStatus'], $end['protocolStatus']);
                case FastCgi::GET_VALUES_RESULT:
                    if ($this->probe) {
                        $this->buffer = '';
                        return new FastCgiResult('', 0, false, 0, 0);
                    }
                    break;
                default:
                    throw new \UnexpectedValueException('php-cgi sent an unexpected FastCGI record of type ' . $header['type']);
            }
        }
        $this->buffer = $offset === $available ? '' : substr($buffer, $offset);
        return null;
    }
}

/**
 * One connection to a FastCGI responder, kept open between requests (FCGI_KEEP_CONN) so a warm
 * invocation costs one write and one read. Requests go one at a time, always with id 1.
 *
 * While waiting it also services other streams (php-cgi's own stderr pipe) so a chatty script
 * can never block on a full pipe while we block on it. Those streams double as a death notice:
 * when one reaches end-of-file, php-cgi has exited, even if it never accepted our connection
 * (our listening socket keeps unaccepted connections alive, so no EOF would arrive on them).
 */
final class FastCgiConnection
{
    private const REQUEST_ID = 1;
    /** @var resource|null */
    private $socket;

    /** @param resource $socket */
    private function __construct($socket)
    {
        $this->socket = $socket;
        stream_set_blocking($socket, false);
        // PHP's own read buffer would hide bytes from select(); we read in large chunks anyway.
        stream_set_read_buffer($socket, 0);
    }

    public static function open(string $address): self
    {
        $socket = @stream_socket_client($address, $errno, $errstr, 5);
        if ($socket === false) {
            throw new PhpCgiGone("cannot connect to php-cgi at $address: $errstr ($errno)");
        }
        return new self($socket);
    }

    public function isOpen(): bool
    {
        return $this->socket !== null;
    }

    public function close(): void
    {
        if ($this->socket !== null) {
            @fclose($this->socket);
            $this->socket = null;
        }
    }

    /**
     * Asks for FCGI_MAX_CONNS and waits for the answer: proof that php-cgi has finished starting
     * and is accepting. php-cgi keeps the connection afterwards, so requests reuse it.
     *
     * @param array<int, resource> $watch streams to drain while waiting
     * @param callable(resource, string): void $onWatched gets each chunk read from them ('' at EOF)
     */
    public function probe(float $abortAt, array $watch, callable $onWatched): void
    {
        $query = FastCgi::record(FastCgi::GET_VALUES, 0, FastCgi::encodePairs(['FCGI_MAX_CONNS' => '']));
        $this->run($query, new FastCgiReader(0, null, true), $abortAt, $watch, $onWatched);
    }

    /**
     * Sends one request and waits for FCGI_END_REQUEST, giving up at $abortAt (hrtime seconds).
     *
     * @param array<string, string> $params
     * @param array<int, resource> $watch
     * @param callable(resource, string): void $onWatched
     * @param callable(string): void $onStderr FCGI_STDERR content
     * @param null|callable(string): void $onStdout FCGI_STDOUT content as it arrives (streaming), instead of keeping it
     * @throws PhpCgiGone|PhpCgiTimeout|\UnexpectedValueException
     */
    public function request(array $params, string $stdin, float $abortAt, array $watch, callable $onWatched, callable $onStderr, int $maxStdout, ?callable $onStdout = null): FastCgiResult
    {
        $message = FastCgi::beginRequest(self::REQUEST_ID, true)
            . FastCgi::stream(FastCgi::PARAMS, self::REQUEST_ID, FastCgi::encodePairs($params))
            . FastCgi::stream(FastCgi::STDIN, self::REQUEST_ID, $stdin);
        return $this->run($message, new FastCgiReader($maxStdout, $onStderr, false, $onStdout), $abortAt, $watch, $onWatched);
    }

    /**
     * @param array<int, resource> $watch
     * @param callable(resource, string): void $onWatched
     */
    private function run(string $pending, FastCgiReader $reader, float $abortAt, array $watch, callable $onWatched): FastCgiResult
    {
        $socket = $this->socket ?? throw new PhpCgiGone('the FastCGI connection is closed');
        try {
            // The request usually fits the socket buffer: write once before paying for select().
            $pending = $this->send($socket, $pending);
            while (true) {
                $left = $abortAt - hrtime(true) / 1e9;
                if ($left <= 0) {
                    throw new PhpCgiTimeout('php-cgi did not answer in time');
                }
                $read = $watch;
                $read[] = $socket;
                $write = $pending !== '' ? [$socket] : null;
                $except = null;
                $seconds = (int) $left;
                $ready = @stream_select($read, $write, $except, $seconds, (int) (($left - $seconds) * 1e6));
                if ($ready === false || $ready === 0) {
                    continue; // a signal or the deadline; the check above decides
                }
                if ($write) {
                    $pending = $this->send($socket, $pending);
                }
                if (\in_array($socket, $read, true)) {
                    $result = $this->readSome($socket, $reader);
                    if ($result !== null) {
                        return $result;
                    }
                }
                foreach ($read as $stream) {
                    if ($stream === $socket) {
                        continue;
                    }
                    $chunk = @fread($stream, 65536);
                    if ($chunk === false || ($chunk === '' && feof($stream))) {
                        $onWatched($stream, '');
                        // php-cgi is gone. Whatever it wrote before dying is already in the
                        // socket buffer: take it, in case the request had in fact finished.
                        while (($result = $this->readSome($socket, $reader)) === null) {
                            $probe = [$socket];
                            $none = null;
                            if (!@stream_select($probe, $none, $none, 0)) {
                                break;
                            }
                        }
                        if ($result !== null) {
                            return $result;
                        }
                        throw new PhpCgiGone('php-cgi exited before finishing the request');
                    }
                    $onWatched($stream, $chunk);
                }
            }
        } catch (\Throwable $e) {
            $this->close();
            throw $e;
        }
    }

    /** @param resource $socket */
    private function send($socket, string $pending): string
    {
        if ($pending === '') {
            return '';
        }
        $n = @fwrite($socket, $pending);
        if ($n === false) {
            throw new PhpCgiGone('php-cgi closed the FastCGI connection while the request was being sent');
        }
        return $n === 0 ? $pending : (string) substr($pending, $n);
    }

    /** @param resource $socket */
    private function readSome($socket, FastCgiReader $reader): ?FastCgiResult
    {
        $chunk = @fread($socket, 262144);
        if ($chunk === false || $chunk === '') {
            if ($chunk === false || feof($socket)) {
                throw new PhpCgiGone('php-cgi closed the FastCGI connection before finishing the request');
            }
            return null;
        }
        return $reader->feed($chunk);
    }
}
