<?php

declare(strict_types=1);

namespace PhpLambda\Runtime;

/**
 * One HTTP event format: how its events turn into an HttpRequest and how a response must be
 * shaped for it. Each source answers in its own shape; a REST API given an ALB answer replies
 * 502, which is exactly what guessing "has requestContext" used to do.
 */
interface EventSource
{
    /** @param array<mixed> $event */
    public function toRequest(array $event): HttpRequest;

    /** @return array<string, mixed> the invocation response, ready for json_encode */
    public function toResponse(HttpResponse $response, HttpRequest $request): array;
}

/**
 * Picks the source from fields only that format carries:
 *  - ALB:              requestContext.elb
 *  - HTTP API 2.0 and Function URLs: version "2.0" with requestContext.http
 *  - API Gateway REST, and HTTP API 1.0 (same shape): httpMethod + requestContext.stage
 * Anything else is not an HTTP event and gets Runtime.UnsupportedEvent, naming what it looks like.
 */
final class EventSources
{
    /** @param mixed $event decoded JSON */
    public static function detect(mixed $event): EventSource
    {
        if ($event === []) {
            // json_decode() makes {} and [] the same empty array.
            throw new InvocationFailure(ErrorTypes::UNSUPPORTED_EVENT, self::unsupported('an empty event'));
        }
        if (!\is_array($event) || array_is_list($event)) {
            throw new InvocationFailure(ErrorTypes::UNSUPPORTED_EVENT, self::unsupported('a JSON ' . get_debug_type($event) . ' instead of an object'));
        }
        $context = $event['requestContext'] ?? null;
        if (\is_array($context)) {
            if (isset($context['elb'])) {
                return new AlbSource();
            }
            if (($event['version'] ?? null) === '2.0' && \is_array($context['http'] ?? null)) {
                return new HttpApiV2Source();
            }
            if (isset($event['httpMethod']) && (isset($context['stage']) || ($event['version'] ?? null) === '1.0')) {
                return new ApiGatewayV1Source();
            }
        }
        throw new InvocationFailure(ErrorTypes::UNSUPPORTED_EVENT, self::unsupported(self::describe($event)));
    }

    private static function unsupported(string $what): string
    {
        return "This function runs PHP behind the php-cgi HTTP runtime, which only accepts HTTP events "
            . "(API Gateway REST or HTTP API, Application Load Balancer, Lambda function URL), but it received $what. "
            . 'Send this kind of event to a function built for it, or invoke this one through an HTTP trigger.';
    }

    /** @param array<mixed> $event */
    private static function describe(array $event): string
    {
        $record = \is_array($event['Records'] ?? null) ? ($event['Records'][0] ?? null) : null;
        if (\is_array($record)) {
            $origin = $record['eventSource'] ?? $record['EventSource'] ?? null;
            if (\is_string($origin)) {
                return "an $origin event";
            }
        }
        if (isset($event['source'], $event['detail-type']) && \is_string($event['source'])) {
            return 'an EventBridge event from ' . $event['source'];
        }
        if (isset($event['requestContext']) || isset($event['httpMethod']) || isset($event['rawPath'])) {
            return 'an event that looks like HTTP but matches none of their formats';
        }
        return 'an event with fields ' . implode(', ', \array_slice(array_map('strval', array_keys($event)), 0, 8));
    }
}

/** Validation shared by the adapters: a malformed HTTP event is reported, never half-served. */
final class EventFields
{
    /**
     * @param array<mixed> $event the object holding the field
     * @param string|null $where the field's full path, for the error message
     */
    public static function string(array $event, string $field, ?string $default = null, ?string $where = null): string
    {
        $value = $event[$field] ?? $default;
        if (!\is_string($value)) {
            throw self::malformed('"' . ($where ?? $field) . '" must be a string');
        }
        return $value;
    }

    /** @return array<mixed> */
    public static function map(mixed $value, string $field): array
    {
        if ($value === null) {
            return [];
        }
        if (!\is_array($value)) {
            throw self::malformed("\"$field\" must be an object");
        }
        return $value;
    }

    /**
     * Headers from a single-value and/or multi-value map, names lower-cased, values kept in order.
     *
     * @return array<string, list<string>>
     */
    public static function headers(mixed $single, mixed $multi): array
    {
        $headers = [];
        if ($multi !== null) {
            foreach (self::map($multi, 'multiValueHeaders') as $name => $values) {
                foreach (\is_array($values) ? $values : [$values] as $value) {
                    if (\is_scalar($value)) {
                        $headers[strtolower((string) $name)][] = (string) $value;
                    }
                }
            }
            return $headers;
        }
        foreach (self::map($single, 'headers') as $name => $value) {
            if (\is_scalar($value)) {
                $headers[strtolower((string) $name)][] = (string) $value;
            }
        }
        return $headers;
    }

    /** @param array<mixed> $event */
    public static function body(array $event): string
    {
        $body = $event['body'] ?? null;
        if ($body === null) {
            return '';
        }
        if (!\is_string($body)) {
            throw self::malformed('"body" must be a string or null');
        }
        if (($event['isBase64Encoded'] ?? false) === true) {
            $decoded = base64_decode($body, true);
            if ($decoded === false) {
                throw self::malformed('"isBase64Encoded" is true but "body" is not valid base64');
            }
            return $decoded;
        }
        return $body;
    }

    public static function malformed(string $problem): InvocationFailure
    {
        return new InvocationFailure(ErrorTypes::MALFORMED_EVENT, "Malformed HTTP event: $problem.");
    }
}

/** Response helpers shared by the adapters. */
final class ResponseShape
{
    /** @return array{0: string, 1: bool} body as sent in JSON, and whether it is base64 */
    public static function body(HttpResponse $response): array
    {
        if ($response->body === '') {
            return ['', false];
        }
        if (BodyEncoding::isBinary($response)) {
            return [base64_encode($response->body), true];
        }
        return [$response->body, false];
    }

    /**
     * @param array<string, list<string>> $grouped
     * @return array<string, string>|\stdClass
     */
    public static function singleValue(array $grouped): array|\stdClass
    {
        $out = [];
        foreach ($grouped as $name => $values) {
            if ($name === 'set-cookie' && \count($values) > 1) {
                // Cookies cannot be comma-joined (their dates contain commas): the last one wins.
                Log::runtime(\count($values) - 1 . ' Set-Cookie header(s) dropped: this event source takes one value per header. '
                    . 'Enable multi-value headers on the ALB target group to return them all.');
            }
            $out[$name] = $name === 'set-cookie' ? $values[\count($values) - 1] : implode(', ', $values);
        }
        // An object even when PHP made every name an integer key ("0", "12345"): a list would
        // be encoded as a JSON array.
        return (object) $out;
    }

    /**
     * @param array<string, list<string>> $grouped
     * @return array<string, list<string>>|\stdClass
     */
    public static function multiValue(array $grouped): array|\stdClass
    {
        return (object) $grouped;
    }
}

/** API Gateway REST APIs (proxy integration) and HTTP APIs with payload format 1.0. */
final class ApiGatewayV1Source implements EventSource
{
    public function toRequest(array $event): HttpRequest
    {
        $context = EventFields::map($event['requestContext'] ?? null, 'requestContext');
        $identity = EventFields::map($context['identity'] ?? null, 'requestContext.identity');
        $multiHeaders = $event['multiValueHeaders'] ?? null;
        $multiQuery = $event['multiValueQueryStringParameters'] ?? null;
        // The query parameters arrive decoded; they are re-encoded here.
        $query = Url::buildQuery(EventFields::map($multiQuery ?? ($event['queryStringParameters'] ?? null), 'queryStringParameters'), false);
        $isRest = ($event['version'] ?? null) !== '1.0';
        return new HttpRequest(
            source: $isRest ? 'apigateway-rest' : 'apigateway-http-v1',
            method: strtoupper(EventFields::string($event, 'httpMethod')),
            // "path" is the resource path without the stage (requestContext.path has it).
            path: Url::path(EventFields::string($event, 'path', '/')),
            query: $query,
            headers: EventFields::headers($event['headers'] ?? null, $multiHeaders),
            cookies: [],
            body: EventFields::body($event),
            sourceIp: \is_string($identity['sourceIp'] ?? null) ? $identity['sourceIp'] : '',
            protocol: \is_string($context['protocol'] ?? null) ? $context['protocol'] : 'HTTP/1.1',
            defaultScheme: 'https',
            domainName: \is_string($context['domainName'] ?? null) ? $context['domainName'] : null,
            multiValueHeaders: \is_array($multiHeaders),
            requestContext: $context,
        );
    }

    public function toResponse(HttpResponse $response, HttpRequest $request): array
    {
        [$body, $base64] = ResponseShape::body($response);
        $out = ['statusCode' => $response->status];
        if ($request->multiValueHeaders) {
            $out['multiValueHeaders'] = ResponseShape::multiValue($response->grouped());
        } else {
            $out['headers'] = ResponseShape::singleValue($response->grouped());
        }
        $out['body'] = $body;
        $out['isBase64Encoded'] = $base64;
        return $out;
    }
}

/** HTTP APIs with payload format 2.0, and Lambda function URLs (same format). */
final class HttpApiV2Source implements EventSource
{
    public function toRequest(array $event): HttpRequest
    {
        $context = EventFields::map($event['requestContext'] ?? null, 'requestContext');
        $http = EventFields::map($context['http'] ?? null, 'requestContext.http');
        $cookies = [];
        foreach (EventFields::map($event['cookies'] ?? null, 'cookies') as $cookie) {
            if (\is_string($cookie)) {
                $cookies[] = $cookie;
            }
        }
        $domain = \is_string($context['domainName'] ?? null) ? $context['domainName'] : null;
        $path = $event['rawPath'] ?? $http['path'] ?? null;
        if (!\is_string($path)) {
            throw EventFields::malformed('"rawPath" must be a string');
        }
        return new HttpRequest(
            source: $domain !== null && str_contains($domain, '.lambda-url.') ? 'function-url' : 'apigateway-http-v2',
            method: strtoupper(EventFields::string($http, 'method', null, 'requestContext.http.method')),
            path: Url::path($path),
            query: Url::query(EventFields::string($event, 'rawQueryString', '')),
            headers: EventFields::headers($event['headers'] ?? null, null),
            cookies: $cookies,
            body: EventFields::body($event),
            sourceIp: \is_string($http['sourceIp'] ?? null) ? $http['sourceIp'] : '',
            protocol: \is_string($http['protocol'] ?? null) ? $http['protocol'] : 'HTTP/1.1',
            defaultScheme: 'https',
            domainName: $domain,
            multiValueHeaders: false,
            requestContext: $context,
        );
    }

    public function toResponse(HttpResponse $response, HttpRequest $request): array
    {
        [$body, $base64] = ResponseShape::body($response);
        $out = [
            'statusCode' => $response->status,
            'headers' => ResponseShape::singleValue($response->grouped(['set-cookie'])),
        ];
        $cookies = $response->values('set-cookie');
        if ($cookies !== []) {
            $out['cookies'] = $cookies;
        }
        $out['body'] = $body;
        $out['isBase64Encoded'] = $base64;
        return $out;
    }
}

/** Application Load Balancer targets, with or without multi-value headers enabled. */
final class AlbSource implements EventSource
{
    public function toRequest(array $event): HttpRequest
    {
        $context = EventFields::map($event['requestContext'] ?? null, 'requestContext');
        $multiHeaders = $event['multiValueHeaders'] ?? null;
        $multiQuery = $event['multiValueQueryStringParameters'] ?? null;
        $headers = EventFields::headers($event['headers'] ?? null, $multiHeaders);
        // ALB passes query parameters through as the client encoded them.
        $query = Url::buildQuery(EventFields::map($multiQuery ?? ($event['queryStringParameters'] ?? null), 'queryStringParameters'), true);
        return new HttpRequest(
            source: \is_array($multiHeaders) ? 'alb-multi-value' : 'alb',
            method: strtoupper(EventFields::string($event, 'httpMethod')),
            path: Url::path(EventFields::string($event, 'path', '/')),
            query: $query,
            headers: $headers,
            cookies: [],
            body: EventFields::body($event),
            sourceIp: self::clientIp($headers['x-forwarded-for'] ?? []),
            protocol: 'HTTP/1.1',
            defaultScheme: 'http',
            domainName: null,
            multiValueHeaders: \is_array($multiHeaders),
            requestContext: $context,
        );
    }

    public function toResponse(HttpResponse $response, HttpRequest $request): array
    {
        [$body, $base64] = ResponseShape::body($response);
        $out = [
            'statusCode' => $response->status,
            'statusDescription' => $response->status . ' ' . $response->reason,
        ];
        if ($request->multiValueHeaders) {
            $out['multiValueHeaders'] = ResponseShape::multiValue($response->grouped());
        } else {
            $out['headers'] = ResponseShape::singleValue($response->grouped());
        }
        $out['body'] = $body;
        $out['isBase64Encoded'] = $base64;
        return $out;
    }

    /**
     * The load balancer appends the address it saw to X-Forwarded-For, so the last entry is the
     * only one a client cannot forge.
     *
     * @param list<string> $values
     */
    private static function clientIp(array $values): string
    {
        $all = array_values(array_filter(array_map('trim', explode(',', implode(',', $values))), 'strlen'));
        return $all === [] ? '' : $all[\count($all) - 1];
    }
}
