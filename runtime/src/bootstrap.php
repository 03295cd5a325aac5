<?php

/**
 * Entry point of the layer's runtime, run by /opt/bootstrap with the layer's own PHP CLI.
 * Order matters for cold starts: php-cgi is spawned first, the handler is checked while it
 * boots, and only then do we wait for it and ask Lambda for work.
 *
 * Environment (see README.md): AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, PHP_LAYER_CGI,
 * PHP_FCGI_MAX_REQUESTS, PHP_LAYER_DEADLINE_MARGIN_MS, PHP_LAYER_SOCKET_DIR, PHP_LAYER_DOCUMENT_ROOT,
 * PHP_LAYER_STATIC_FILES, PHP_LAYER_STATIC_CACHE_CONTROL, PHP_LAYER_RESPONSE_STREAMING,
 * AWS_LAMBDA_MAX_CONCURRENCY.
 */

declare(strict_types=1);

namespace PhpLambda\Runtime;

require __DIR__ . '/load.php';

/** Reads and checks the configuration; every problem becomes an init error Lambda shows to the caller. */
final class Bootstrap
{
    /** A worker's exit code when its php-cgi could not start: the supervisor reports the init error. */
    private const WORKER_INIT_FAILED = 3;

    private RuntimeApiClient $api;
    private PhpCgiServer $phpCgi;
    /** set in a worker process of a concurrent sandbox: init problems are left to the supervisor */
    private bool $isWorker = false;

    public function run(): int
    {
        $runtimeApi = getenv('AWS_LAMBDA_RUNTIME_API');
        if ($runtimeApi === false || $runtimeApi === '') {
            Log::runtime('AWS_LAMBDA_RUNTIME_API is not set: this bootstrap must be started by Lambda (or a Runtime API emulator that sets it)');
            return 1;
        }
        $this->api = new RuntimeApiClient($runtimeApi);
        try {
            // Before php-cgi starts: an add-on for another PHP would only warn on every request.
            Addons::check(\dirname(__DIR__), PHP_VERSION, php_uname('m'));
            $concurrency = self::nonNegativeInt('AWS_LAMBDA_MAX_CONCURRENCY', 1);
        } catch (InitFailure $failure) {
            return $this->initFailed($failure);
        }
        return $concurrency > 1 ? $this->supervise($concurrency) : $this->serve();
    }

    /**
     * Lambda Managed Instances send up to AWS_LAMBDA_MAX_CONCURRENCY invocations at once. Each
     * gets a worker process of its own: its own Runtime API connection, its own php-cgi, its own
     * environment (trace id) — the single-invocation loop, N times. This process only starts them,
     * restarts one that dies, and stops them all on SIGTERM.
     */
    private function supervise(int $concurrency): int
    {
        try {
            // Checked once here, so a bad setting is one init error rather than N.
            self::router(rtrim(getenv('LAMBDA_TASK_ROOT') ?: '/var/task', '/'), (string) getenv('_HANDLER'));
            self::cacheControl();
            self::nonNegativeInt('PHP_FCGI_MAX_REQUESTS', 0);
            self::nonNegativeInt('PHP_LAYER_DEADLINE_MARGIN_MS', 250);
            self::onOff('PHP_LAYER_RESPONSE_STREAMING', false);
        } catch (InitFailure $failure) {
            return $this->initFailed($failure);
        }
        $stopping = false;
        $failed = false;
        /** @var array<int, int> $workers pid => slot */
        $workers = [];
        $handler = static function () use (&$stopping, &$workers): void {
            $stopping = true;
            foreach (array_keys($workers) as $pid) {
                posix_kill($pid, \SIGTERM);
            }
        };
        self::onTerminate($handler);
        for ($slot = 0; $slot < $concurrency; $slot++) {
            $workers[$this->startWorker()] = $slot;
        }
        Log::runtime("serving up to $concurrency invocations at once, one worker process and php-cgi each");
        while ($workers !== []) {
            $status = 0;
            $pid = pcntl_wait($status);
            if ($pid <= 0) {
                continue; // interrupted by a signal
            }
            if (!isset($workers[$pid])) {
                continue;
            }
            $slot = $workers[$pid];
            unset($workers[$pid]);
            if ($stopping) {
                continue;
            }
            if (pcntl_wifexited($status) && pcntl_wexitstatus($status) === self::WORKER_INIT_FAILED) {
                $handler();
                $failed = true;
                $this->initFailed(new InitFailure(ErrorTypes::PHP_CGI_START_FAILED, 'php-cgi could not be started in a worker process; its messages are in the log above.'));
                continue;
            }
            $how = pcntl_wifsignaled($status) ? 'was killed by signal ' . pcntl_wtermsig($status) : 'exited with status ' . pcntl_wexitstatus($status);
            Log::runtime("worker $slot (pid $pid) $how; starting a new one");
            usleep(100_000);
            $workers[$this->startWorker()] = $slot;
        }
        return $failed ? 1 : 0;
    }

    private function startWorker(): int
    {
        $pid = pcntl_fork();
        if ($pid === -1) {
            throw new \RuntimeException('could not start a worker process (fork failed)');
        }
        if ($pid === 0) {
            // The child: a fresh Runtime API connection, then the ordinary loop.
            $this->isWorker = true;
            $this->api = new RuntimeApiClient((string) getenv('AWS_LAMBDA_RUNTIME_API'));
            exit($this->serve());
        }
        return $pid;
    }

    /** The single-invocation loop: start php-cgi, then serve invocations one at a time. */
    private function serve(): int
    {
        try {
            $taskRoot = rtrim(getenv('LAMBDA_TASK_ROOT') ?: '/var/task', '/');
            $this->phpCgi = new PhpCgiServer(
                getenv('PHP_LAYER_CGI') ?: '/opt/bin/php-cgi',
                self::phpCgiEnvironment(),
                self::nonNegativeInt('PHP_FCGI_MAX_REQUESTS', 0),
                getenv('PHP_LAYER_SOCKET_DIR') ?: sys_get_temp_dir(),
            );
            $this->phpCgi->spawn();
            $router = self::router($taskRoot, (string) getenv('_HANDLER'));
            $staticFiles = $router->staticFiles ? new StaticFiles(__DIR__ . '/mime-types.php', self::cacheControl(), Runtime::MAX_RESPONSE_BYTES) : null;
            $this->phpCgi->awaitReady();
            $deadlineMargin = self::nonNegativeInt('PHP_LAYER_DEADLINE_MARGIN_MS', 250);
            $streaming = self::onOff('PHP_LAYER_RESPONSE_STREAMING', false);
        } catch (InitFailure $failure) {
            return $this->initFailed($failure);
        } catch (\Throwable $e) {
            return $this->initFailed(new InitFailure(ErrorTypes::PHP_CGI_START_FAILED, $e->getMessage(), $e));
        }

        // However the loop ends — signal, Runtime API failure, a bug — php-cgi must not outlive it.
        register_shutdown_function(fn () => $this->phpCgi->shutdown());
        self::onTerminate(static fn () => exit(0));
        if (getenv('PHP_FCGI_CHILDREN') !== false && getenv('PHP_FCGI_CHILDREN') !== '0') {
            Log::runtime('PHP_FCGI_CHILDREN is ignored: Lambda sends one request at a time, so php-cgi runs as a single process');
        }

        $runtime = new Runtime($this->api, $this->phpCgi, $router, new CgiParams($router->documentRoot), $staticFiles, $deadlineMargin, $streaming);
        try {
            $runtime->loop();
        } catch (\Throwable $e) {
            // The Runtime API is gone or asked us to exit, or php-cgi cannot be started again:
            // Lambda replaces the sandbox, which is the only recovery left.
            Log::runtime('stopping: ' . $e->getMessage());
            return 1;
        }
        return 0;
    }

    private static function router(string $taskRoot, string $handler): Router
    {
        $handler = trim($handler);
        if ($handler === '') {
            throw new InitFailure(ErrorTypes::HANDLER_NOT_FOUND, 'No handler is configured. Set the function\'s handler to its PHP front controller, relative to the package root (for example "public/index.php").');
        }
        $relative = preg_replace('#^(\./)+#', '', $handler) ?? $handler;
        if (!str_ends_with($relative, '.php')) {
            throw new InitFailure(ErrorTypes::INVALID_HANDLER, "The handler \"$handler\" is not a .php file. Set it to the PHP front controller, relative to the package root (for example \"public/index.php\").");
        }
        $path = str_starts_with($relative, '/') ? $relative : "$taskRoot/$relative";
        $real = realpath($path);
        if ($real === false || !is_file($real)) {
            throw new InitFailure(ErrorTypes::HANDLER_NOT_FOUND, "The handler \"$handler\" does not exist: there is no file $path. Check the function's handler setting and that the file is in the deployment package (LAMBDA_TASK_ROOT is $taskRoot).");
        }
        // As a web server's root: by default the front controller's directory.
        $rootSetting = getenv('PHP_LAYER_DOCUMENT_ROOT');
        if ($rootSetting === false || trim($rootSetting) === '') {
            $root = \dirname($real);
        } else {
            $rootSetting = trim($rootSetting);
            $rootPath = str_starts_with($rootSetting, '/') ? $rootSetting : "$taskRoot/$rootSetting";
            $root = realpath($rootPath);
            if ($root === false || !is_dir($root)) {
                throw new InitFailure(ErrorTypes::INVALID_CONFIGURATION, "PHP_LAYER_DOCUMENT_ROOT=\"$rootSetting\" is not a directory ($rootPath). Set it to the web root inside the package, relative to it (for example \"public\"), or unset it to use the handler's directory.");
            }
            if (!str_starts_with($real, rtrim($root, '/') . '/')) {
                throw new InitFailure(ErrorTypes::INVALID_CONFIGURATION, "The handler \"$handler\" ($real) is outside PHP_LAYER_DOCUMENT_ROOT ($root). The front controller must be inside the document root, as with nginx's try_files.");
            }
        }
        return new Router($root, substr($real, \strlen(rtrim($root, '/'))), self::onOff('PHP_LAYER_STATIC_FILES', true));
    }

    private static function onOff(string $name, bool $default): bool
    {
        $value = getenv($name);
        if ($value === false || trim($value) === '') {
            return $default;
        }
        return match (strtolower(trim($value))) {
            'on', 'true', '1', 'yes' => true,
            'off', 'false', '0', 'no' => false,
            default => throw new InitFailure(ErrorTypes::INVALID_CONFIGURATION, "$name must be on or off, not \"$value\"."),
        };
    }

    private static function cacheControl(): ?string
    {
        $value = getenv('PHP_LAYER_STATIC_CACHE_CONTROL');
        if ($value === false || trim($value) === '') {
            return null;
        }
        if (preg_match('/^[\x20-\x7e]+$/', $value) !== 1) {
            throw new InitFailure(ErrorTypes::INVALID_CONFIGURATION, "PHP_LAYER_STATIC_CACHE_CONTROL must be a Cache-Control header value in printable ASCII (for example \"public, max-age=3600\"), not \"$value\".");
        }
        return trim($value);
    }

    /** @return array<string, string> */
    private static function phpCgiEnvironment(): array
    {
        $environment = getenv();
        // Per-invocation values reach PHP as FastCGI params; a stale copy must not linger in
        // the environment of a php-cgi started later.
        unset($environment['_X_AMZN_TRACE_ID']);
        return $environment;
    }

    private static function nonNegativeInt(string $name, int $default): int
    {
        $value = getenv($name);
        if ($value === false || $value === '') {
            return $default;
        }
        if (preg_match('/^\d+$/', $value) !== 1) {
            throw new InitFailure(ErrorTypes::INVALID_CONFIGURATION, "$name must be a non-negative whole number, not \"$value\".");
        }
        return (int) $value;
    }

    private function initFailed(InitFailure $failure): int
    {
        Log::runtime($failure->errorType . ': ' . $failure->getMessage());
        if (isset($this->phpCgi)) {
            $this->phpCgi->shutdown();
        }
        if ($this->isWorker) {
            return self::WORKER_INIT_FAILED;
        }
        try {
            $this->api->initError($failure);
        } catch (RuntimeApiError $e) {
            Log::runtime('could not report the init error: ' . $e->getMessage());
        }
        return 1;
    }

    private static function onTerminate(\Closure $handler): void
    {
        if (!\function_exists('pcntl_signal')) {
            return;
        }
        pcntl_async_signals(true);
        pcntl_signal(\SIGTERM, $handler);
        pcntl_signal(\SIGINT, $handler);
    }
}

exit((new Bootstrap())->run());
