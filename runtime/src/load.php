<?php

// Loads the runtime's classes (no autoloader: a fixed list is cheaper at every cold start).
// bootstrap.php uses it, and so do the tests that exercise single classes.

declare(strict_types=1);

foreach (['Errors', 'Addons', 'Log', 'Http', 'Url', 'FastCgi', 'PhpCgiServer', 'EventSources', 'CgiResponse', 'ResponseStream', 'Router', 'StaticFiles', 'WarmUp', 'CgiParams', 'RuntimeApiClient', 'Runtime'] as $file) {
    require_once __DIR__ . "/$file.php";
}
