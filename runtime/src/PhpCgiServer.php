<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * Runs one php-cgi as a persistent FastCGI server and replaces it when it dies or must be
 * stopped.
 *
 * We create the listening unix socket ourselves and hand it to php-cgi as its stdin, the
 * classic FastCGI way of starting a responder. Because the socket outlives any one php-cgi,
 * a replacement needs no new path and no connect-retry loop: connections queue in the backlog
 * until the new process accepts them.
 *
 * php-cgi is told to run as a single process (PHP_FCGI_CHILDREN=0): Lambda sends one request at
 * a time, a lone process keeps its opcache warm across requests, and it is the only pid we ever
 * need to kill. Left alone it would exit after 500 requests (PHP_FCGI_MAX_REQUESTS), so it is
 * always started with no limit; when the function sets PHP_FCGI_MAX_REQUESTS we recycle php-cgi
 * ourselves between invocations instead of discovering a dead connection in the next one.
 */
final class PhpCgiServer
{
    /** @var resource|null */
    private $listener = null;
    /** @var resource|null */
    private $process = null;
    /** @var resource|null */
    private $stderr = null;
    private ?LineBuffer $stderrLines = null;
    private ?FastCgiConnection $connection = null;
    private int $servedByCurrent = 0;
    /** How the last killed php-cgi ended, for the restart message. */
    private string $lastExit = '';
    /** @var array<string, mixed>|null proc_get_status() reports an exit only once before PHP 8.3 */
    private ?array $exitStatus = null;
    private string $socketDir;
    private string $socketPath;

    /**
     * @param array<string, string> $environment environment for php-cgi (the function's own)
     */
    public function __construct(
        private readonly string $binary,
        private readonly array $environment,
        private readonly int $maxRequests,
        string $tempDir,
    ) {
        $this->socketDir = rtrim($tempDir, '/') . '/php-lambda-' . getmypid() . '-' . bin2hex(random_bytes(4));
        $this->socketPath = $this->socketDir . '/php-cgi.sock';
    }

    /**
     * Starts php-cgi and waits until it answers a FastCGI management query.
     *
     * @throws \RuntimeException with a message fit for an init error
     */
    public function start(float $timeoutSeconds = 10.0): void
    {
        $this->spawn();
        $this->awaitReady($timeoutSeconds);
    }

    /** Starts php-cgi without waiting (so start-up overlaps with other work); pair with awaitReady(). */
    public function spawn(): void
    {
        if (!is_file($this->binary) || !is_executable($this->binary)) {
            throw new \RuntimeException("php-cgi not found at {$this->binary}: the layer must provide bin/php-cgi (or set PHP_LAYER_CGI)");
        }
        if ($this->listener === null) {
            $this->listen();
        }
        $pipes = [];
        $process = @proc_open(
            [$this->binary],
            [0 => $this->listener, 1 => \defined('STDERR') ? \STDERR : ['file', 'php://stderr', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            ['PHP_FCGI_CHILDREN' => '0', 'PHP_FCGI_MAX_REQUESTS' => '0'] + $this->environment,
        );
        if ($process === false) {
            throw new \RuntimeException("could not start {$this->binary}: " . (error_get_last()['message'] ?? 'proc_open failed'));
        }
        $this->process = $process;
        $this->stderr = $pipes[2];
        stream_set_blocking($this->stderr, false);
        $this->stderrLines = new LineBuffer();
        $this->servedByCurrent = 0;
        $this->exitStatus = null;
        $this->connection = null;
    }

    public function awaitReady(float $timeoutSeconds = 10.0): void
    {
        try {
            $this->connection = FastCgiConnection::open('unix://' . $this->socketPath);
            $this->connection->probe(hrtime(true) / 1e9 + $timeoutSeconds, $this->watched(), $this->onWatched(...));
        } catch (PhpCgiGone $e) {
            $status = $this->reap();
            throw new \RuntimeException("php-cgi ({$this->binary}) stopped during start-up" . ($status === '' ? '' : " (it $status)") . '; its messages are in the log above');
        } catch (PhpCgiTimeout) {
            $this->kill();
            throw new \RuntimeException("php-cgi ({$this->binary}) did not start accepting FastCGI requests within {$timeoutSeconds}s");
        }
    }

    /**
     * Runs one request on php-cgi.
     *
     * @param array<string, string> $params
     * @param callable(string): void $onStderr
     * @throws PhpCgiGone|PhpCgiTimeout|\UnexpectedValueException; after any of them the caller
     *         kill()s php-cgi, and afterRequest() starts a new one
     */
    public function handle(array $params, string $body, float $abortAt, callable $onStderr, int $maxStdout, ?callable $onStdout = null): FastCgiResult
    {
        if ($this->process === null || !$this->isRunning()) {
            // Died between invocations (killed, out of memory…): replace it before this request.
            $exit = $this->process === null ? '' : $this->reap();
            Log::runtime('php-cgi had stopped' . ($exit === '' ? '' : " (it $exit)") . '; starting a new one');
            $this->start();
        }
        $connection = $this->connection;
        if ($connection === null || !$connection->isOpen()) {
            $connection = $this->connection = FastCgiConnection::open('unix://' . $this->socketPath);
        }
        try {
            return $connection->request($params, $body, $abortAt, $this->watched(), $this->onWatched(...), $onStderr, $maxStdout, $onStdout);
        } finally {
            $this->servedByCurrent++;
            $this->drainStderr();
            $this->stderrLines?->flush();
        }
    }

    /**
     * To be called between invocations: replaces a php-cgi that was killed or died, and recycles
     * one that has served PHP_FCGI_MAX_REQUESTS requests.
     */
    public function afterRequest(): void
    {
        if ($this->process === null || !$this->isRunning()) {
            $exit = $this->process === null ? $this->lastExit : $this->reap();
            Log::runtime('starting a new php-cgi' . ($exit === '' ? '' : "; the previous one $exit"));
            $this->start();
        } elseif ($this->maxRequests > 0 && $this->servedByCurrent >= $this->maxRequests) {
            $this->stop();
            $this->start();
        }
    }

    public function kill(): void
    {
        // Only signal a pid we have not reaped yet: once reaped it may belong to someone else.
        if ($this->process !== null && $this->isRunning()) {
            @proc_terminate($this->process, 9);
        }
        $this->lastExit = $this->reap();
    }

    /** Graceful stop: SIGTERM, then SIGKILL if php-cgi takes more than a second. */
    public function stop(): void
    {
        if ($this->process === null) {
            return;
        }
        @proc_terminate($this->process, 15);
        $until = hrtime(true) + 1_000_000_000;
        while ($this->isRunning() && hrtime(true) < $until) {
            usleep(2000);
        }
        $this->kill();
    }

    /** Stops php-cgi and removes the socket. */
    public function shutdown(): void
    {
        $this->kill();
        if ($this->listener !== null) {
            @fclose($this->listener);
            $this->listener = null;
        }
        @unlink($this->socketPath);
        @rmdir($this->socketDir);
    }

    private function listen(): void
    {
        if (!@mkdir($this->socketDir, 0700, true) && !is_dir($this->socketDir)) {
            throw new \RuntimeException("cannot create {$this->socketDir} for the php-cgi socket");
        }
        $listener = @stream_socket_server('unix://' . $this->socketPath, $errno, $errstr);
        if ($listener === false) {
            throw new \RuntimeException("cannot listen on {$this->socketPath}: $errstr ($errno)");
        }
        // php-cgi accepts on this descriptor and exits if accept() would block, so it must stay blocking.
        stream_set_blocking($listener, true);
        $this->listener = $listener;
    }

    private function isRunning(): bool
    {
        if ($this->process === null || $this->exitStatus !== null) {
            return false;
        }
        $status = proc_get_status($this->process);
        if ($status['running']) {
            return true;
        }
        $this->exitStatus = $status;
        return false;
    }

    /** Collects the dead (or dying) process and says how it ended ("was killed by signal 9", "exited with code 255"). */
    private function reap(): string
    {
        if ($this->connection !== null) {
            $this->connection->close();
            $this->connection = null;
        }
        $note = '';
        if ($this->process !== null) {
            // Its sockets close a moment before it can be reaped: give it that moment.
            for ($i = 0; $i < 100 && $this->isRunning(); $i++) {
                usleep(1000);
            }
            if ($this->exitStatus !== null) {
                $status = $this->exitStatus;
                $note = $status['signaled'] ? "was killed by signal {$status['termsig']}" : "exited with code {$status['exitcode']}";
            }
            $this->drainStderr();
            if ($this->stderr !== null) {
                @fclose($this->stderr);
            }
            @proc_close($this->process);
        }
        $this->stderrLines?->flush();
        $this->process = null;
        $this->stderr = null;
        $this->exitStatus = null;
        return $note;
    }

    /** @return array<int, resource> */
    private function watched(): array
    {
        return $this->stderr === null ? [] : [$this->stderr];
    }

    /** @param resource $stream */
    private function onWatched($stream, string $chunk): void
    {
        if ($chunk !== '') {
            $this->stderrLines?->push($chunk);
        }
    }

    private function drainStderr(): void
    {
        if ($this->stderr === null) {
            return;
        }
        while (\is_string($chunk = @fread($this->stderr, 65536)) && $chunk !== '') {
            $this->stderrLines?->push($chunk);
        }
    }
}
