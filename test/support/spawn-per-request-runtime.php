<?php

/**
 * Benchmark baseline only: the approach the layer started from, one new php-cgi process (plain
 * CGI, no FastCGI) per invocation. It reuses the real runtime's event handling so that the only
 * difference measured is the process model. Run with `php -n` and the same environment as the
 * real bootstrap (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, PHP_LAYER_CGI).
 */

declare(strict_types=1);

namespace PhpLambda\Runtime;

require __DIR__ . '/../../runtime/src/load.php';

$api = new RuntimeApiClient((string) getenv('AWS_LAMBDA_RUNTIME_API'));
$phpCgi = getenv('PHP_LAYER_CGI') ?: 'php-cgi';
$handler = realpath(rtrim((string) getenv('LAMBDA_TASK_ROOT'), '/') . '/' . getenv('_HANDLER'));
if ($handler === false) {
    fwrite(STDERR, "handler not found\n");
    exit(1);
}
$router = new Router(\dirname($handler), '/' . basename($handler), false);
$params = new CgiParams($router->documentRoot);
$baseEnvironment = getenv();

while (true) {
    $invocation = $api->next();
    try {
        $event = json_decode($invocation->payload, true, 512, JSON_THROW_ON_ERROR);
        $source = EventSources::detect($event);
        $request = $source->toRequest($event);
        $route = $router->route($request->path, $request->query);
        $route = $route instanceof ScriptRoute ? $route : new ScriptRoute($router->frontController, '');

        $process = proc_open([$phpCgi], [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => STDERR], $pipes, null, $params->build($request, $invocation, $route) + $baseEnvironment);
        if ($process === false) {
            throw new InvocationFailure(ErrorTypes::INTERNAL, 'could not start php-cgi');
        }
        fwrite($pipes[0], $request->body);
        fclose($pipes[0]);
        $stdout = (string) stream_get_contents($pipes[1]);
        fclose($pipes[1]);
        proc_close($process);

        $payload = (string) json_encode($source->toResponse(CgiResponse::parse($stdout), $request));
        $api->respond($invocation->requestId, $payload);
    } catch (InvocationFailure $failure) {
        $api->invocationError($invocation->requestId, $failure);
    }
}
