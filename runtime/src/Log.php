<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * Everything the runtime and PHP print ends up on the bootstrap's stderr, which Lambda ships to
 * CloudWatch. Each line carries the request id of the invocation it belongs to ("<id>\t<text>"),
 * so one request's warnings can be found among thousands; lines printed outside an invocation
 * carry none.
 */
final class Log
{
    private static ?string $requestId = null;
    /** @var resource */
    private static $out;

    public static function setRequestId(?string $requestId): void
    {
        self::$requestId = $requestId;
    }

    /** A message from the runtime itself. */
    public static function runtime(string $message): void
    {
        self::lines('[runtime] ' . $message);
    }

    /** Text from PHP (FastCGI stderr records or php-cgi's own stderr), possibly several lines. */
    public static function lines(string $text): void
    {
        $text = rtrim($text, "\r\n");
        if ($text === '') {
            return;
        }
        $prefix = self::$requestId === null ? '' : self::$requestId . "\t";
        $lines = preg_split('/\r?\n/', $text) ?: [$text];
        $out = '';
        foreach ($lines as $line) {
            $out .= $prefix . $line . "\n";
        }
        self::$out ??= \defined('STDERR') ? \STDERR : fopen('php://stderr', 'wb');
        @fwrite(self::$out, $out);
    }
}

/**
 * Cuts a byte stream into whole lines so that a log line split across two reads is still
 * printed once, with one prefix.
 */
final class LineBuffer
{
    private string $pending = '';

    /** @param null|callable(string): void $observer also gets every text logged through this buffer */
    public function __construct(private readonly mixed $observer = null)
    {
    }

    public function push(string $chunk): void
    {
        $this->pending .= $chunk;
        $cut = strrpos($this->pending, "\n");
        if ($cut === false) {
            // A runaway line without newline is flushed anyway rather than held forever.
            if (\strlen($this->pending) > 65536) {
                $this->flush();
            }
            return;
        }
        $this->emit(substr($this->pending, 0, $cut));
        $this->pending = (string) substr($this->pending, $cut + 1);
    }

    public function flush(): void
    {
        if ($this->pending !== '') {
            $this->emit($this->pending);
            $this->pending = '';
        }
    }

    private function emit(string $text): void
    {
        Log::lines($text);
        if ($this->observer !== null) {
            ($this->observer)($text);
        }
    }
}
