<?php

/**
 * Entry point of the layer's runtime, run by /opt/bootstrap with the layer's own PHP CLI.
 * Order matters for cold starts: php-cgi is spawned first, the handler is checked while it
 * boots, and only then do we wait for it and ask Lambda for work.
 *
 * Environment (see README.md): AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, PHP_LAYER_CGI,
 * PHP_FCGI_MAX_REQUESTS, PHP_LAYER_DEADLINE_MARGIN_MS, PHP_LAYER_SOCKET_DIR.
 */

declare(strict_types=1);

namespace PhpLambda\Runtime;

require __DIR__ . '/load.php';

/** Reads and checks the configuration; every problem becomes an init error Lambda shows to the caller. */
final class Bootstrap
{
    private RuntimeApiClient $api;
    private PhpCgiServer $phpCgi;

    public function run(): int
    {
        $runtimeApi = getenv('AWS_LAMBDA_RUNTIME_API');
        if ($runtimeApi === false || $runtimeApi === '') {
            Log::runtime('AWS_LAMBDA_RUNTIME_API is not set: this bootstrap must be started by Lambda (or a Runtime API emulator that sets it)');
            return 1;
        }
        $this->api = new RuntimeApiClient($runtimeApi);

        try {
            $taskRoot = rtrim(getenv('LAMBDA_TASK_ROOT') ?: '/var/task', '/');
            $this->phpCgi = new PhpCgiServer(
                getenv('PHP_LAYER_CGI') ?: '/opt/bin/php-cgi',
                self::phpCgiEnvironment(),
                self::nonNegativeInt('PHP_FCGI_MAX_REQUESTS', 0),
                getenv('PHP_LAYER_SOCKET_DIR') ?: sys_get_temp_dir(),
            );
            $this->phpCgi->spawn();
            $scripts = self::scriptResolver($taskRoot, (string) getenv('_HANDLER'));
            $this->phpCgi->awaitReady();
            $deadlineMargin = self::nonNegativeInt('PHP_LAYER_DEADLINE_MARGIN_MS', 250);
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

        $runtime = new Runtime($this->api, $this->phpCgi, new CgiParams($scripts), $deadlineMargin);
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

    private static function scriptResolver(string $taskRoot, string $handler): ScriptResolver
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
        // The front controller's directory is the document root, as with a web server.
        return new ScriptResolver(\dirname($real), '/' . basename($real));
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
