<?php

/**
 * Entry point of the layer's runtime, run by /opt/bootstrap with the layer's own PHP CLI.
 * Order matters for cold starts: php-cgi is spawned first, the handler is checked while it
 * boots, and only then do we wait for it and ask Lambda for work.
 *
 * Environment (see README.md): AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, PHP_LAYER_CGI,
 * PHP_FCGI_MAX_REQUESTS, PHP_LAYER_DEADLINE_MARGIN_MS, PHP_LAYER_SOCKET_DIR, PHP_LAYER_DOCUMENT_ROOT,
 * PHP_LAYER_STATIC_FILES, PHP_LAYER_STATIC_CACHE_CONTROL, PHP_LAYER_RESPONSE_STREAMING.
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
