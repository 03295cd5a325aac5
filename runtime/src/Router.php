<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/** Run a PHP script: SCRIPT_NAME (relative to the document root, leading "/") and PATH_INFO. */
final class ScriptRoute
{
    public function __construct(public readonly string $scriptName, public readonly string $pathInfo)
    {
    }
}

/** Answer with a file under the document root, without PHP. */
final class StaticRoute
{
    public function __construct(public readonly string $file)
    {
    }
}

/** A directory requested without its trailing slash: 301 to the same path with it. */
final class DirectoryRedirect
{
    public function __construct(public readonly string $location)
    {
    }
}

/**
 * Chooses what answers a request the way nginx's `try_files $uri $uri/ /index.php` does in front
 * of PHP-FPM (with the usual `location ~ \.php(/|$)` block that splits PATH_INFO):
 *  1. a path whose first segment ending in ".php" names a PHP file under the document root runs
 *     that file, the rest of the path becoming PATH_INFO ("/tool.php/users" → tool.php, "/users");
 *  2. an existing file (not PHP source, not a dotfile) is served as it is, when static files are on;
 *  3. an existing directory with an index.php runs it, with index.html is served from it; asked
 *     for without the trailing slash, it answers 301 to the path with the slash;
 *  4. everything else runs the front controller, with an empty PATH_INFO; so does "/" itself, even
 *     when the root holds an index.php that is not the front controller.
 *
 * Nothing outside the document root is ever served or run: paths with "." or ".." segments or NUL
 * bytes, and symlinks whose target lies outside, go to the front controller. Neither do dotfiles
 * (".env", ".git/config"; ".well-known/" is the exception) or anything with a PHP extension get
 * served as files, so source code and secrets never leave the function.
 */
final class Router
{
    /** Extensions that mean PHP source: never sent as a file, even where nginx would. */
    private const SOURCE_EXTENSION = '/\.(php\d?|phtml|phar|phps)$/i';

    private readonly string $rootPrefix;

    public function __construct(
        public readonly string $documentRoot,
        /** front controller, relative to the document root, with a leading "/" */
        public readonly string $frontController,
        public readonly bool $staticFiles,
    ) {
        $this->rootPrefix = rtrim($documentRoot, '/') . '/';
    }

    /** @param string $path the request path, percent-encoded as in REQUEST_URI */
    public function route(string $path, string $query): ScriptRoute|StaticRoute|DirectoryRedirect
    {
        $decoded = rawurldecode($path);
        if (!self::isSafe($decoded)) {
            return new ScriptRoute($this->frontController, '');
        }
        if (str_contains($decoded, '.php')) {
            $script = $this->script($decoded);
            if ($script !== null) {
                return $script;
            }
        }
        if ($decoded === '/' || $decoded === '') {
            // The root's index is the front controller the function names (as nginx's `index` would
            // pick when it is index.php, and what a handler such as app.php means everywhere else).
            return new ScriptRoute($this->frontController, '');
        }
        $real = $this->inside($decoded);
        if ($real === null) {
            return new ScriptRoute($this->frontController, '');
        }
        if (is_file($real)) {
            if ($this->staticFiles && preg_match(self::SOURCE_EXTENSION, $real) !== 1 && !str_ends_with($decoded, '/')) {
                return new StaticRoute($real);
            }
            return new ScriptRoute($this->frontController, '');
        }
        if (is_dir($real)) {
            $hasPhp = is_file($real . '/index.php');
            $hasHtml = !$hasPhp && $this->staticFiles && is_file($real . '/index.html');
            if ($hasPhp || $hasHtml) {
                if (!str_ends_with($decoded, '/')) {
                    // nginx answers with the path as the client sent it, plus the slash and the query.
                    return new DirectoryRedirect($path . '/' . ($query !== '' ? '?' . $query : ''));
                }
                $prefix = rtrim($decoded, '/') . '/';
                if ($hasPhp && $this->isScript($prefix . 'index.php')) {
                    return new ScriptRoute($prefix . 'index.php', '');
                }
                if ($hasHtml && $this->inside($prefix . 'index.html') !== null) {
                    return new StaticRoute($real . '/index.html');
                }
            }
        }
        return new ScriptRoute($this->frontController, '');
    }

    /** The first ".php" segment naming a PHP file under the root, with the rest as PATH_INFO. */
    private function script(string $decoded): ?ScriptRoute
    {
        $segments = explode('/', ltrim($decoded, '/'));
        $prefix = '';
        foreach ($segments as $i => $segment) {
            $prefix .= '/' . $segment;
            if (!str_ends_with($segment, '.php') || $segment === '.php') {
                continue;
            }
            if ($this->isScript($prefix)) {
                $rest = \array_slice($segments, $i + 1);
                return new ScriptRoute($prefix, $rest === [] ? '' : '/' . implode('/', $rest));
            }
            // As nginx's `fastcgi_split_path_info ^(.+?\.php)(/.*)$`: only the first ".php" counts.
            return null;
        }
        return null;
    }

    private function isScript(string $relative): bool
    {
        $real = $this->inside($relative);
        // realpath() follows symlinks: the target must still be a .php file inside the root.
        return $real !== null && str_ends_with($real, '.php') && is_file($real);
    }

    /** The real path of a root-relative path when it exists and lies inside the root, else null. */
    private function inside(string $relative): ?string
    {
        $real = realpath($this->rootPrefix . ltrim($relative, '/'));
        if ($real === false || !str_starts_with($real . '/', $this->rootPrefix)) {
            return null;
        }
        // The target of a symlink must not be a dotfile either.
        return self::isSafe(substr($real, \strlen($this->rootPrefix) - 1)) ? $real : null;
    }

    /** No NUL, no "." or ".." segments, no dotfiles except under ".well-known". */
    private static function isSafe(string $decoded): bool
    {
        if (str_contains($decoded, "\0")) {
            return false;
        }
        if (!str_contains($decoded, '/.')) {
            return true;
        }
        foreach (explode('/', $decoded) as $segment) {
            if ($segment !== '' && $segment[0] === '.' && $segment !== '.well-known') {
                return false;
            }
        }
        return true;
    }
}
