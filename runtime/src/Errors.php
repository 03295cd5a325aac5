<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * A failure that is reported to Lambda with its own errorType, so callers (and CloudWatch
 * metric filters) can tell a slow script from a crash from a misrouted event.
 * README.md lists every type; keep the two in step.
 */
class RuntimeFailure extends \RuntimeException
{
    public function __construct(public readonly string $errorType, string $message, ?\Throwable $previous = null)
    {
        parent::__construct($message, 0, $previous);
    }
}

/** Start-up problems, reported once through /runtime/init/error. */
final class InitFailure extends RuntimeFailure
{
}

/** Problems with one invocation, reported through /invocation/{id}/error; the loop goes on. */
final class InvocationFailure extends RuntimeFailure
{
}

/** php-cgi went away while we were waiting on it (killed, crashed, or hit its request limit). */
final class PhpCgiGone extends \RuntimeException
{
}

/** php-cgi did not finish before our abort point; the caller must kill and replace it. */
final class PhpCgiTimeout extends \RuntimeException
{
}

/** The Runtime API answered something we cannot continue from. */
final class RuntimeApiError extends \RuntimeException
{
    public function __construct(string $message, public readonly int $status = 0)
    {
        parent::__construct($message);
    }
}

final class ErrorTypes
{
    public const HANDLER_NOT_FOUND = 'Runtime.HandlerNotFound';
    public const INVALID_HANDLER = 'Runtime.InvalidHandler';
    public const PHP_CGI_START_FAILED = 'Runtime.PhpCgiStartFailed';
    public const INVALID_CONFIGURATION = 'Runtime.InvalidConfiguration';
    public const ADDON_MISMATCH = 'Runtime.AddonMismatch';
    public const MALFORMED_EVENT = 'Runtime.MalformedEvent';
    public const UNSUPPORTED_EVENT = 'Runtime.UnsupportedEvent';
    public const DEADLINE_EXCEEDED = 'Runtime.DeadlineExceeded';
    public const PHP_CGI_CRASHED = 'Runtime.PhpCgiCrashed';
    public const RESPONSE_TOO_LARGE = 'Runtime.ResponseTooLarge';
    public const INVALID_CGI_RESPONSE = 'Runtime.InvalidCgiResponse';
    public const PHP_FATAL_ERROR = 'Runtime.PhpFatalError';
    public const INTERNAL = 'Runtime.InternalError';
}
