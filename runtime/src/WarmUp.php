<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/** A Serverless warm-up ping: answered at once, without PHP. */
final class WarmUp
{
    private static bool $logged = false;

    /** @param mixed $event decoded JSON */
    public static function isPing(mixed $event): bool
    {
        // {"warmer": true} is what warm-up plugins and schedulers commonly send;
        // serverless-plugin-warmup's default payload names itself as the source.
        return \is_array($event)
            && (($event['warmer'] ?? null) === true || ($event['source'] ?? null) === 'serverless-plugin-warmup');
    }

    public static function answer(): string
    {
        if (!self::$logged) {
            self::$logged = true;
            Log::runtime('warm-up ping answered without running PHP (later pings are not logged)');
        }
        return '{"warm":true}';
    }
}
