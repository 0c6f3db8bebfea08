#!/usr/bin/perl

# The fake Groq server speaks Groq's wire format as
# ../shared/reference/groq-api.md records it: JSON and streamed answers,
# tool calls, JSON mode, 400/401/404/413/429 with their headers, 5xx,
# broken and slow answers; directly and through nginx's proxy_pass, which
# is how the chat module reaches it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Path qw/ make_path /;
use File::Temp qw/ tempdir /;
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw/ ceil :sys_wait_h /;
use Test::More;
use Time::HiRes qw/ sleep time /;

use Cartbot::FakeGroq;

my $json = JSON::PP->new->utf8->canonical;

my $KEY = 'gsk_fake_' . join '', map { ('a'..'z', 0..9)[rand 36] } 1..20;

my $groq = Cartbot::FakeGroq->new(key => $KEY)->start;

my $MODEL = 'llama-3.1-8b-instant';

sub call {
    my ($base, $method, $path, %opts) = @_;

    my %headers = %{ $opts{headers} || {} };
    $headers{Authorization} //= "Bearer $KEY" unless $opts{no_auth};
    my $body = exists $opts{json} ? $json->encode($opts{json}) : $opts{body};
    $headers{'Content-Type'} //= 'application/json' if defined $body;

    my $t0 = time;
    my $r = HTTP::Tiny->new(timeout => $opts{timeout} || 10,
        keep_alive => 0)->request($method, "$base$path",
        { headers => \%headers, (defined $body ? (content => $body) : ()) });
    $r->{elapsed} = time - $t0;
    $r->{json} = eval { $json->decode($r->{content}) };

    return $r;
}

sub chat {
    my (%opts) = @_;
    my $base = delete $opts{base} // $groq->base_url;
    return call($base, 'POST', '/chat/completions', %opts);
}

sub user_request {
    my ($text, %more) = @_;
    return { model => $MODEL,
             messages => [{ role => 'user', content => $text }], %more };
}

# the documented accounting (README): 3 + per message 3 + ceil(bytes/4)
sub prompt_tokens {
    my (@texts) = @_;
    my $n = 3;
    $n += 3 + ceil(length($_) / 4) for @texts;
    return $n;
}

sub error_ok {
    my ($r, $status, $type, $message, $name) = @_;

    is($r->{status}, $status, "$name: status $status");
    like($r->{headers}{'content-type'}, qr{^application/json},
        "$name: JSON error body");
    is($r->{json}{error}{type}, $type, "$name: error type $type");
    if (ref $message) {
        like($r->{json}{error}{message}, $message, "$name: message");
    } else {
        is($r->{json}{error}{message}, $message, "$name: message");
    }
    like($r->{headers}{'x-request-id'}, qr/^req_[0-9a-z]{26}$/,
        "$name: x-request-id");
}

sub rate_headers_ok {
    my ($h, $name) = @_;
    like($h->{"x-ratelimit-$_-requests"} // '', qr/^\d+$/,
        "$name: x-ratelimit-$_-requests") for qw/ limit remaining /;
    like($h->{"x-ratelimit-$_-tokens"} // '', qr/^\d+$/,
        "$name: x-ratelimit-$_-tokens") for qw/ limit remaining /;
    like($h->{"x-ratelimit-reset-$_"} // '',
        qr/^(\d+h)?(\d+m)?\d+(\.\d+)?s$|^\d+ms$/,
        "$name: x-ratelimit-reset-$_ is a Go duration")
        for qw/ requests tokens /;
}

# SSE events of a body: [ [event-name or undef, data], ... ] and the rest
sub sse_events {
    my ($body) = @_;
    my @events;
    while ($body =~ s/\A((?:[a-z]+: [^\n]*\n)+)\n//) {
        my $block = $1;
        my ($name) = $block =~ /^event: (.*)$/m;
        my ($data) = $block =~ /^data: (.*)$/m;
        push @events, [ $name, $data ];
    }
    return (\@events, $body);
}

# --- models and authentication ---------------------------------------------

{
    my $r = call($groq->base_url, 'GET', '/models');
    is($r->{status}, 200, 'GET /models');
    is($r->{json}{object}, 'list', 'model list object');
    my ($m) = grep { $_->{id} eq $MODEL } @{ $r->{json}{data} || [] };
    ok($m, "$MODEL is listed");
    is_deeply([ sort keys %$m ], [ sort qw/ id object created owned_by active
        context_window public_apps max_completion_tokens / ],
        'model object fields');
    is($m->{object}, 'model', 'object: model');

    $r = call($groq->base_url, 'GET',
        '/models/meta-llama/llama-4-scout-17b-16e-instruct');
    is($r->{json}{id}, 'meta-llama/llama-4-scout-17b-16e-instruct',
        'GET /models/{id} with a slash in the id');

    $r = call($groq->base_url, 'GET', '/models/llama-9-nonexistent');
    error_ok($r, 404, 'invalid_request_error', 'The model '
        . '`llama-9-nonexistent` does not exist or you do not have access '
        . 'to it.', 'unknown model id');
    is($r->{json}{error}{code}, 'model_not_found', 'code model_not_found');

    $r = chat(json => user_request('hi'), no_auth => 1);
    error_ok($r, 401, 'invalid_request_error', 'Invalid API Key',
        'no Authorization');
    is($r->{json}{error}{code}, 'invalid_api_key', 'code invalid_api_key');
    ok(!exists $r->{headers}{'x-ratelimit-limit-requests'},
        '401 carries no rate-limit headers');
    ok($r->{headers}{'x-groq-region'}, '401 carries x-groq-region');

    $r = chat(json => user_request('hi'),
        headers => { Authorization => 'Bearer gsk_wrong' });
    is($r->{status}, 401, 'wrong key: 401');

    $r = chat(json => user_request('hi'),
        headers => { Authorization => $KEY });
    is($r->{status}, 401, 'key without Bearer: 401');

    $r = call($groq->base_url, 'POST', '/chat/complete',
        json => user_request('hi'));
    error_ok($r, 404, 'invalid_request_error',
        qr{^Unknown request URL: POST /openai/v1/chat/complete\.},
        'unknown URL');
}

# --- request validation: 400 -------------------------------------------------

{
    my @cases = (
        [ 'unknown property', { %{ user_request('hi') }, store2 => 1 },
          "property 'store2' is unsupported, did you mean 'store'?" ],
        [ 'model missing', { messages => [{ role => 'user',
                                            content => 'hi' }] },
          "property 'model' is missing" ],
        [ 'messages missing', { model => $MODEL },
          "property 'messages' is missing" ],
        [ 'messages empty', { model => $MODEL, messages => [] },
          "'messages' : minimum number of items is 1" ],
        [ 'bad role', { model => $MODEL,
                        messages => [{ role => 'human', content => 'hi' }] },
          "'messages.0' : discriminator property 'role' has invalid value" ],
        [ 'unknown message property', { model => $MODEL, messages => [
              { role => 'user', content => 'hi', timestamp => 1 }] },
          "'messages.0' : for 'role:user' the following must be satisfied"
          . "[('messages.0' : property 'timestamp' is unsupported)]" ],
        [ 'tool content not a string', { model => $MODEL, messages => [
              { role => 'user', content => 'hi' },
              { role => 'tool', tool_call_id => 'x', content => {} }] },
          "'messages.1' : for 'role:tool' the following must be satisfied"
          . "[('messages.1.content' : value must be a string)]" ],
        [ 'user content missing', { model => $MODEL,
                                    messages => [{ role => 'user' }] },
          "'messages.0' : for 'role:user' the following must be satisfied"
          . "[('messages.0' : property 'content' is missing)]" ],
        [ 'n = 2', user_request('hi', n => 2),
          "'n' : number must be at most 1" ],
        [ 'temperature 3', user_request('hi', temperature => 3),
          "'temperature' : number must be at most 2" ],
        [ 'bad response_format', user_request('json please',
              response_format => { type => 'xml' }),
          "'response_format.type' : value must be one of 'text', "
          . "'json_object', 'json_schema'" ],
        [ 'json_object without the word', user_request('hi',
              response_format => { type => 'json_object' }),
          "'messages' must contain the word 'json' in some form, to use "
          . "'response_format' of type 'json_object'." ],
        [ 'json_schema on llama', user_request('hi',
              response_format => { type => 'json_schema', json_schema => {
                  name => 'x', schema => { type => 'object' } } }),
          qr/^This model does not support response format `json_schema`\./ ],
        [ 'json mode with tools', user_request('json', response_format =>
              { type => 'json_object' }, tools => [{ type => 'function',
              function => { name => 'f' } }]),
          'json mode cannot be combined with tool/function calling' ],
        [ 'tool without function', user_request('hi',
              tools => [{ type => 'function' }]),
          "'tools.0' : property 'function' is missing" ],
        [ 'tool with a bad name', user_request('hi', tools => [{
              type => 'function', function => { name => 'add to cart' } }]),
          "'tools.0.function.name' : does not match pattern "
          . "'^[a-zA-Z0-9_-]{1,64}\$'" ],
        [ 'tool of unknown type', user_request('hi', tools => [{
              type => 'fn', function => { name => 'f' } }]),
          "'tools.0' : discriminator property 'type' has invalid value" ],
        [ 'tools not an array', user_request('hi', tools => {}),
          "'tools' : value must be an array" ],
        [ 'tool_choice names no tool', user_request('hi', tools => [{
              type => 'function', function => { name => 'f' } }],
              tool_choice => { type => 'function',
                               function => { name => 'g' } }),
          'requested tool does not exist' ],
        [ 'stream not a boolean', user_request('hi', stream => 'yes'),
          "'stream' : value must be a boolean" ],
    );

    for my $case (@cases) {
        my ($name, $body, $message) = @$case;
        my $r = chat(json => $body);
        error_ok($r, 400, 'invalid_request_error', $message, $name);
    }

    my $r = chat(body => '{"model": "x", ');
    error_ok($r, 400, 'invalid_request_error', qr/valid JSON/,
        'body not JSON');

    # what is in §1.2 is accepted, stream_options included
    $r = chat(json => user_request('hi', temperature => 0, top_p => 1,
        max_completion_tokens => 50, seed => 7, user => 'u1',
        stream_options => { include_usage => JSON::PP::false },
        service_tier => 'on_demand', parallel_tool_calls => JSON::PP::true,
        reasoning_effort => 'low'));
    is($r->{status}, 200, 'every documented field is accepted');
    is($r->{json}{x_groq}{seed}, 7, 'the seed is echoed in x_groq.seed');

    $r = chat(json => user_request('hi', model => 'llama-9-nonexistent'));
    error_ok($r, 404, 'invalid_request_error', 'The model '
        . '`llama-9-nonexistent` does not exist or you do not have access '
        . 'to it.', 'completion with an unknown model');
    is($r->{json}{error}{code}, 'model_not_found', 'code model_not_found');
}

# --- a plain answer ----------------------------------------------------------

{
    my $text = 'Add 2 blue t-shirts to my cart';
    my $r = chat(json => user_request($text));
    my $c = $r->{json};

    is($r->{status}, 200, 'completion: 200');
    is($r->{headers}{'content-type'}, 'application/json',
        'completion: application/json');
    is_deeply([ sort keys %$c ], [ sort qw/ id object created model choices
        usage usage_breakdown system_fingerprint x_groq service_tier / ],
        'completion: top-level fields of §1.3');
    like($c->{id}, qr/^chatcmpl-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab]
        [0-9a-f]{3}-[0-9a-f]{12}$/x, 'id: chatcmpl- + UUIDv4');
    is($c->{object}, 'chat.completion', 'object');
    ok(abs($c->{created} - time) < 5, 'created: now, in unix seconds');
    is($c->{model}, $MODEL, 'model echoed');
    like($c->{system_fingerprint}, qr/^fp_[0-9a-f]{10}$/,
        'system_fingerprint');
    like($c->{x_groq}{id}, qr/^req_[0-9a-z]{26}$/, 'x_groq.id');
    is($r->{headers}{'x-request-id'}, $c->{x_groq}{id},
        'x-request-id header is the x_groq id');
    is($c->{service_tier}, 'on_demand', 'service_tier');
    ok(exists $c->{usage_breakdown} && !defined $c->{usage_breakdown},
        'usage_breakdown: null');

    my $choice = $c->{choices}[0];
    is($choice->{index}, 0, 'choice index 0');
    is($choice->{finish_reason}, 'stop', 'finish_reason stop');
    ok(exists $choice->{logprobs} && !defined $choice->{logprobs},
        'logprobs: null');
    is($choice->{message}{role}, 'assistant', 'role assistant');
    like($choice->{message}{content}, qr/\Q$text\E/,
        'default content is derived from the request');

    my $u = $c->{usage};
    is_deeply([ sort keys %$u ], [ sort qw/ queue_time prompt_tokens
        prompt_time completion_tokens completion_time total_tokens
        total_time / ], 'usage: token counts and Groq timing fields');
    is($u->{prompt_tokens}, prompt_tokens($text),
        'prompt_tokens follow the documented accounting');
    is($u->{completion_tokens}, ceil(length($choice->{message}{content}) / 4),
        'completion_tokens follow the documented accounting');
    is($u->{total_tokens}, $u->{prompt_tokens} + $u->{completion_tokens},
        'total = prompt + completion');
    ok(abs($u->{total_time} - $u->{prompt_time} - $u->{completion_time})
        < 1e-9, 'total_time = prompt_time + completion_time');

    rate_headers_ok($r->{headers}, 'completion');
    is($r->{headers}{'x-ratelimit-limit-tokens'}, 6000,
        "TPM of $MODEL (§1.9)");

    my $again = chat(json => user_request($text));
    is($again->{json}{choices}[0]{message}{content},
        $choice->{message}{content}, 'the default answer is deterministic');
    is($again->{headers}{'x-ratelimit-remaining-requests'},
        $r->{headers}{'x-ratelimit-remaining-requests'} - 1,
        'remaining requests count down');

    # stop sequences and max tokens
    $r = chat(json => user_request('one two three four five six',
        stop => ['four']));
    is($r->{json}{choices}[0]{message}{content}, 'You said: one two three ',
        'the reply stops before the stop sequence');

    $r = chat(json => user_request('one two three four five six',
        max_completion_tokens => 3));
    is($r->{json}{choices}[0]{finish_reason}, 'length',
        'max_completion_tokens: finish_reason length');
    ok($r->{json}{usage}{completion_tokens} <= 3,
        'max_completion_tokens bounds completion_tokens');
}

# --- JSON mode ---------------------------------------------------------------

{
    my $r = chat(json => { model => $MODEL, messages => [
        { role => 'system', content => 'Reply with ONE JSON object.' },
        { role => 'user', content => 'Add 2 blue t-shirts to my cart' } ],
        response_format => { type => 'json_object' }, temperature => 0 });
    is($r->{status}, 200, 'json_object: 200');
    my $obj = eval { $json->decode($r->{json}{choices}[0]{message}{content}) };
    is(ref $obj, 'HASH', 'json_object: content is a JSON object');
    is($obj->{echo}, 'Add 2 blue t-shirts to my cart',
        'json_object: the default echoes the last user message');

    my $intent = { intent => 'add_to_cart', confidence => 0.93,
        entities => { product_query => 't-shirt', quantity => 2,
                      color => 'blue' } };
    $groq->enqueue({ content => $intent });
    $r = chat(json => { model => $MODEL, response_format =>
        { type => 'json_object' }, messages => [{ role => 'user',
        content => 'json: add 2 blue t-shirts' }] });
    my $content = $r->{json}{choices}[0]{message}{content};
    ok(!ref $content, 'a scripted JSON value arrives as a string');
    is_deeply($json->decode($content), $intent,
        'a scripted JSON value is the content');

    my $schema = { type => 'object', additionalProperties => JSON::PP::false,
        required => [qw/ intent quantity confident tags /],
        properties => {
            intent => { type => 'string', enum => [qw/ add remove /] },
            quantity => { type => 'integer', minimum => 1 },
            confident => { type => 'boolean' },
            tags => { type => 'array', items => { type => 'string' } } } };
    $r = chat(json => user_request('add two', model => 'openai/gpt-oss-20b',
        response_format => { type => 'json_schema', json_schema => {
            name => 'intent', schema => $schema, strict => JSON::PP::true }}));
    is($r->{status}, 200, 'json_schema on gpt-oss: 200');
    is_deeply(eval { $json->decode($r->{json}{choices}[0]{message}{content}) },
        { intent => 'add', quantity => 1, confident => JSON::PP::false,
          tags => [] }, 'json_schema: the default satisfies the schema');
}

# --- tool calls --------------------------------------------------------------

my $add_tool = { type => 'function', function => {
    name => 'add_to_cart', description => 'Add a product to the cart.',
    parameters => { type => 'object', additionalProperties => JSON::PP::false,
        required => [qw/ product_query quantity /], properties => {
            product_query => { type => 'string' },
            quantity => { type => 'integer', minimum => 1 },
            color => { type => 'string' } } } } };

my $view_tool = { type => 'function', function => { name => 'view_cart',
    parameters => { type => 'object', properties => {} } } };

sub tool_call_ok {
    my ($r, $name, $what) = @_;
    my $choice = $r->{json}{choices}[0];
    is($choice->{finish_reason}, 'tool_calls', "$what: finish tool_calls");
    ok(!exists $choice->{message}{content}, "$what: content is absent");
    my $call = $choice->{message}{tool_calls}[0];
    like($call->{id}, qr/^[a-z0-9]{9}$/, "$what: short tool call id");
    is($call->{type}, 'function', "$what: type function");
    is($call->{function}{name}, $name, "$what: the function");
    ok(!ref $call->{function}{arguments}, "$what: arguments is a string");
    return eval { $json->decode($call->{function}{arguments}) };
}

{
    my $r = chat(json => user_request('Add 2 blue t-shirts to my cart',
        tools => [ $view_tool, $add_tool ],
        tool_choice => { type => 'function',
                         function => { name => 'add_to_cart' } }));
    is($r->{status}, 200, 'forced tool: 200');
    my $args = tool_call_ok($r, 'add_to_cart', 'forced tool');
    is_deeply($args, { product_query => 'Add 2 blue t-shirts to my cart',
        quantity => 1 }, 'forced tool: default arguments fit the schema');

    $r = chat(json => user_request('hi', tools => [ $view_tool, $add_tool ],
        tool_choice => 'required'));
    tool_call_ok($r, 'view_cart', 'tool_choice required');

    $r = chat(json => user_request('hi', tools => [ $add_tool ]));
    is($r->{json}{choices}[0]{finish_reason}, 'stop',
        'tool_choice auto: the default answers in text');

    $groq->enqueue({ tool_calls => [ { name => 'add_to_cart',
        arguments => { product_query => 'blue t-shirt', quantity => 2 } },
        { name => 'view_cart', arguments => '{"broken": ', id => 'abc123xyz' }
        ] });
    $r = chat(json => user_request('Add 2 blue t-shirts to my cart',
        tools => [ $add_tool, $view_tool ]));
    $args = tool_call_ok($r, 'add_to_cart', 'scripted tool call');
    is_deeply($args, { product_query => 'blue t-shirt', quantity => 2 },
        'scripted arguments, as a JSON string');
    my $second = $r->{json}{choices}[0]{message}{tool_calls}[1];
    is_deeply($second, { id => 'abc123xyz', type => 'function',
        function => { name => 'view_cart', arguments => '{"broken": ' } },
        'scripted malformed arguments arrive as they are');

    # the follow-up turn: the assistant's tool call and the tool's answer
    my $call = $r->{json}{choices}[0]{message}{tool_calls}[0];
    $r = chat(json => { model => $MODEL, tools => [ $add_tool ], messages => [
        { role => 'user', content => 'Add 2 blue t-shirts to my cart' },
        { role => 'assistant', tool_calls => [ $call ] },
        { role => 'tool', tool_call_id => $call->{id},
          content => '{"ok":true}' } ] });
    is($r->{status}, 200, 'the follow-up turn with a tool message: 200');
}

# --- scripting: order, recording, reset --------------------------------------

{
    $groq->reset;
    is(scalar $groq->requests, 0, 'reset forgets the requests');

    $groq->enqueue({ content => 'first' }, { content => 'second' });
    is(scalar $groq->queue, 2, 'two answers queued');

    # an invalid request does not consume a scripted answer
    my $r = chat(json => { model => $MODEL });
    is($r->{status}, 400, 'an invalid request is refused');
    is(chat(json => user_request('a'))->{json}{choices}[0]{message}{content},
        'first', 'scripted answers come in order: first');
    is(chat(json => user_request('b'))->{json}{choices}[0]{message}{content},
        'second', 'scripted answers come in order: second');
    like(chat(json => user_request('c'))->{json}{choices}[0]{message}{content},
        qr/^You said: c/, 'then the default answer');

    my @reqs = $groq->requests;
    is(scalar @reqs, 4, 'every request is recorded');
    is_deeply([ map { $_->{response}{status} } @reqs ], [ 400, 200, 200, 200 ],
        'with the status it got');
    is_deeply([ map { $_->{response}{scripted} ? 1 : 0 } @reqs ],
        [ 0, 1, 1, 0 ], 'and whether it was scripted');
    is($reqs[1]{method}, 'POST', 'recorded method');
    is($reqs[1]{path}, '/openai/v1/chat/completions', 'recorded path');
    is($reqs[1]{headers}{authorization}, "Bearer $KEY",
        'recorded headers');
    is_deeply($reqs[1]{body}, user_request('a'), 'recorded parsed body');
    is($reqs[1]{response}{usage}{prompt_tokens}, prompt_tokens('a'),
        'the usage answered is recorded');

    $groq->enqueue({ content => 'always', sticky => JSON::PP::true });
    chat(json => user_request('x')) for 1..2;
    is(chat(json => user_request('x'))->{json}{choices}[0]{message}{content},
        'always', 'a sticky answer stays until reset');
    $groq->reset;
    like(chat(json => user_request('x'))->{json}{choices}[0]{message}{content},
        qr/^You said/, 'reset empties the queue');
}

# --- errors: 429, 413, 5xx ---------------------------------------------------

{
    $groq->enqueue({ error => 'rate_limit', retry_after => 3 });
    my $r = chat(json => user_request('hi'));
    my $re = join '', "^Rate limit reached for model `\Q$MODEL\E` in ",
        'organization `org_\w+` service tier `on_demand` on tokens per ',
        'minute \(TPM\): Limit 6000, Used \d+, Requested \d+\. Please ',
        'try again in 3s\. ';
    error_ok($r, 429, 'tokens', qr/$re/, '429');
    is($r->{json}{error}{code}, 'rate_limit_exceeded', '429: code');
    is($r->{headers}{'retry-after'}, '3', '429: retry-after');
    is($r->{headers}{'x-ratelimit-remaining-tokens'}, '0',
        '429: no tokens remaining');
    rate_headers_ok($r->{headers}, '429');

    $groq->enqueue({ error => 'rate_limit', limit => 'requests',
        retry_after => 2 });
    $r = chat(json => user_request('hi'));
    is($r->{status}, 429, '429 per day');
    like($r->{json}{error}{message}, qr/requests per day \(RPD\)/,
        '429 per day: message');
    is($r->{headers}{'x-ratelimit-remaining-requests'}, '0',
        '429 per day: no requests remaining');

    $groq->enqueue({ status => 429, retry_after => undef });
    $r = chat(json => user_request('hi'));
    is($r->{status}, 429, 'a bare 429');
    ok(!exists $r->{headers}{'retry-after'}, 'a 429 without retry-after');

    # 413: the per-request TPM case, and a body over the size limit
    $groq->config(tpm => 50);
    $r = chat(json => user_request('x' x 400));
    my $requested = prompt_tokens('x' x 400);
    $re = join '', "^Request too large for model \Q$MODEL\E in ",
        'organization org_\w+ service tier on_demand on tokens per minute ',
        "\\(TPM\\): Limit 50, Requested $requested, please reduce your ",
        'message size and try again\. ';
    error_ok($r, 413, 'tokens', qr/$re/, '413 over TPM');
    is($r->{json}{error}{code}, 'rate_limit_exceeded', '413: code');
    rate_headers_ok($r->{headers}, '413');

    $groq->config(tpm => undef, max_body => 1000);
    $r = chat(json => user_request('y' x 2000));
    error_ok($r, 413, 'invalid_request_error', 'Request Entity Too Large',
        '413 over the body size');
    $groq->reset;

    $groq->enqueue({ error => 'request_too_large' });
    is(chat(json => user_request('hi'))->{status}, 413, 'a scripted 413');

    my @fives = (
        [ 'server_error', 500, 'internal_server_error' ],
        [ 'service_unavailable', 503, 'service_unavailable' ],
        [ 'capacity_exceeded', 498, 'service_unavailable' ],
    );
    for my $f (@fives) {
        my ($kind, $status, $type) = @$f;
        $groq->enqueue({ error => $kind });
        $r = chat(json => user_request('hi'));
        error_ok($r, $status, $type, qr/./, $kind);
    }

    $groq->enqueue({ error => 'bad_gateway' });
    $r = chat(json => user_request('hi'));
    is($r->{status}, 502, 'bad_gateway: 502');
    like($r->{headers}{'content-type'}, qr{^text/html},
        'bad_gateway: an HTML page');

    $groq->enqueue({ status => 500, headers => { 'x-should-retry' => 'false',
        'x-groq-region' => undef } });
    $r = chat(json => user_request('hi'));
    is($r->{status}, 500, 'a bare status');
    is($r->{json}{error}{type}, 'internal_server_error',
        'a bare status gets its Groq body');
    is($r->{headers}{'x-should-retry'}, 'false', 'scripted header added');
    ok(!exists $r->{headers}{'x-groq-region'}, 'scripted header removed');

    for my $kind (qw/ json_validate_failed tool_use_failed
                      context_length_exceeded /) {
        $groq->enqueue({ error => $kind });
        $r = chat(json => user_request('json'));
        is($r->{status}, 400, "$kind: 400");
        is($r->{json}{error}{code}, $kind, "$kind: code");
    }
    like($r->{json}{error}{param}, qr/^messages$/,
        'context_length_exceeded: param messages');

    $groq->enqueue({ error => 'json_validate_failed',
        failed_generation => '{"intent": ' });
    $r = chat(json => user_request('json'));
    is($r->{json}{error}{failed_generation}, '{"intent": ',
        'failed_generation as scripted');
}

# --- broken answers ----------------------------------------------------------

{
    $groq->enqueue({ malformed => JSON::PP::true });
    my $r = chat(json => user_request('hi'));
    is($r->{status}, 200, 'malformed body: 200');
    ok(length $r->{content} && !$r->{json}, 'malformed body: not JSON');

    $groq->enqueue({ body => 'upstream says no', content_type => 'text/plain',
        status => 200 });
    $r = chat(json => user_request('hi'));
    is($r->{content}, 'upstream says no', 'a raw scripted body');

    $groq->enqueue({ cut => 'reset' });
    $r = chat(json => user_request('hi'));
    is($r->{status}, 599, 'reset before any answer: the client sees an error');

    $groq->enqueue({ cut => 'close', cut_after => 40 });
    $r = chat(json => user_request('hi'));
    is($r->{status}, 599, 'closed mid-body: the client sees a short body');
    is(($groq->completions)[-1]{response}{cut}, 'close',
        'the cut is recorded');

    $groq->enqueue({ delay_ms => 600 });
    $r = chat(json => user_request('hi'));
    is($r->{status}, 200, 'delayed answer: 200');
    ok($r->{elapsed} >= 0.55, sprintf 'delayed answer took %.2fs', $r->{elapsed});
}

# --- streaming ---------------------------------------------------------------

# the exact bytes of groq-api.md §1.5's text stream, for these values
sub expected_stream {
    my (%v) = @_;
    my $head = qq({"id":"$v{id}","object":"chat.completion.chunk",)
        . qq("created":$v{created},"model":"$v{model}",)
        . qq("system_fingerprint":"$v{fp}",);
    my $choice = sub {
        my ($delta, $finish) = @_;
        return qq("choices":[{"index":0,"delta":$delta,"logprobs":null,)
            . qq("finish_reason":$finish}]);
    };
    my $usage = qq({"queue_time":0.0125,"prompt_tokens":$v{prompt},)
        . qq("prompt_time":$v{prompt_time},)
        . qq("completion_tokens":$v{completion},)
        . qq("completion_time":$v{completion_time},)
        . qq("total_tokens":@{[ $v{prompt} + $v{completion} ]},)
        . qq("total_time":$v{total_time}});

    my $out = 'data: ' . $head . $choice->('{"role":"assistant","content":""}',
        'null') . qq(,"x_groq":{"id":"$v{rid}","seed":$v{seed}}}\n\n);
    for my $piece (@{ $v{pieces} }) {
        $out .= 'data: ' . $head
            . $choice->(qq({"content":"$piece"}), 'null') . "}\n\n";
    }
    $out .= 'data: ' . $head . $choice->('{}', '"stop"')
        . qq(,"x_groq":{"id":"$v{rid}","usage":$usage},"usage":$usage}\n\n);
    $out .= "data: [DONE]\n\n";
    return $out;
}

sub seconds { my $s = sprintf '%.9f', $_[0]; $s =~ s/0+$//; $s =~ s/\.$//; $s }

sub stream_ok {
    my ($r, $what, %v) = @_;

    is($r->{status}, 200, "$what: 200");
    is($r->{headers}{'content-type'}, 'text/event-stream',
        "$what: text/event-stream");
    is($r->{headers}{'cache-control'}, 'no-cache', "$what: no-cache");
    like($r->{headers}{'x-request-id'}, qr/^req_[0-9a-z]{26}$/,
        "$what: x-request-id");

    my ($first) = $r->{content} =~ /\Adata: (\{.*?\})\n\n/;
    my $c = eval { $json->decode($first) } || {};
    my $prompt = $v{prompt};
    my $completion = $v{completion};

    is($r->{content}, expected_stream(
        id => $c->{id} // '?', created => $c->{created} // 0,
        model => $MODEL, fp => $c->{system_fingerprint} // '?',
        rid => $c->{x_groq}{id} // '?', seed => $v{seed},
        pieces => $v{pieces}, prompt => $prompt, completion => $completion,
        prompt_time => seconds($prompt * 0.00002),
        completion_time => seconds($completion * 0.001),
        total_time => seconds($prompt * 0.00002 + $completion * 0.001)),
        "$what: the SSE stream byte for byte");
    is($c->{x_groq}{id}, $r->{headers}{'x-request-id'},
        "$what: x_groq.id is the x-request-id");
}

{
    $groq->enqueue({ chunks => [ 'Hel', 'lo ', 'there!' ] });
    my $r = chat(json => user_request('Hello there', stream => JSON::PP::true,
        seed => 42));
    stream_ok($r, 'stream', seed => 42, pieces => [ 'Hel', 'lo ', 'there!' ],
        prompt => prompt_tokens('Hello there'),
        completion => ceil(length('Hello there!') / 4));
    is($r->{headers}{'transfer-encoding'}, 'chunked',
        'stream: transfer-encoding chunked');
    rate_headers_ok($r->{headers}, 'stream');

    # the default stream: the default text, word by word
    $r = chat(json => user_request('Add 2 blue t-shirts', stream =>
        JSON::PP::true));
    my ($events, $rest) = sse_events($r->{content});
    is($rest, '', 'default stream: nothing but events');
    is($events->[-1][1], '[DONE]', 'default stream: ends with [DONE]');
    my @chunks = map { $json->decode($_->[1]) } @$events[0 .. $#$events - 1];
    is(join('', map { $_->{choices}[0]{delta}{content} // '' } @chunks),
        'You said: Add 2 blue t-shirts', 'default stream: the deltas add up');
    ok(@chunks > 3, 'default stream: several deltas');
    is(scalar(grep { $_->{id} eq $chunks[0]{id} } @chunks), scalar @chunks,
        'default stream: every chunk shares the id');

    # include_usage: one more chunk with no choices, before [DONE]
    $r = chat(json => user_request('hi', stream => JSON::PP::true,
        stream_options => { include_usage => JSON::PP::true }));
    ($events) = sse_events($r->{content});
    my $extra = $json->decode($events->[-2][1]);
    is_deeply($extra->{choices}, [], 'include_usage: a chunk without choices');
    is($extra->{usage}{prompt_tokens}, prompt_tokens('hi'),
        'include_usage: with the usage');

    $groq->enqueue({ legacy_usage => JSON::PP::true });
    $r = chat(json => user_request('hi', stream => JSON::PP::true));
    ($events) = sse_events($r->{content});
    my $final = $json->decode($events->[-2][1]);
    ok(!exists $final->{usage} && $final->{x_groq}{usage},
        'legacy_usage: usage only in x_groq (2024 streams)');

    # a streamed tool call: whole in one delta, then in fragments
    for my $size (undef, 5) {
        my $what = $size ? 'streamed tool call in fragments'
            : 'streamed tool call';
        $groq->enqueue({ tool_calls => [ { name => 'add_to_cart', arguments =>
            { product_query => 'blue t-shirt', quantity => 2 } } ],
            (defined $size ? (args_chunk_size => $size) : ()) });
        $r = chat(json => user_request('Add 2 blue t-shirts',
            stream => JSON::PP::true, tools => [ $add_tool ]));
        ($events, $rest) = sse_events($r->{content});
        is($rest, '', "$what: nothing but events");
        @chunks = map { $json->decode($_->[1]) } @$events[0 .. $#$events - 1];
        is_deeply($chunks[0]{choices}[0]{delta},
            { role => 'assistant', content => undef },
            "$what: first delta has content null");
        my ($id, $name, $args) = ('', '', '');
        for my $ch (@chunks[1 .. $#chunks - 1]) {
            for my $tc (@{ $ch->{choices}[0]{delta}{tool_calls} || [] }) {
                is($tc->{index}, 0, "$what: index 0") unless $id;
                $id ||= $tc->{id} // '';
                $name .= $tc->{function}{name} // '';
                $args .= $tc->{function}{arguments} // '';
            }
        }
        like($id, qr/^[a-z0-9]{9}$/, "$what: id");
        is($name, 'add_to_cart', "$what: name");
        is_deeply($json->decode($args), { product_query => 'blue t-shirt',
            quantity => 2 }, "$what: arguments accumulate");
        is($chunks[-1]{choices}[0]{finish_reason}, 'tool_calls',
            "$what: finish tool_calls");
        ok(@chunks == ($size ? 3 + ceil(length($args) / $size) : 3),
            "$what: the expected number of chunks");
    }

    # an error inside the stream: a named event, and no [DONE]
    $groq->enqueue({ stream_error => 'tool_use_failed', error_after => 2 });
    $r = chat(json => user_request('one two three', stream => JSON::PP::true));
    ($events, $rest) = sse_events($r->{content});
    is($rest, '', 'stream error: nothing but events');
    is(scalar @$events, 3, 'stream error: two chunks, then the error');
    is($events->[2][0], 'error', 'stream error: event: error');
    my $err = $json->decode($events->[2][1]);
    is($err->{error}{code}, 'tool_use_failed', 'stream error: the code');
    is($err->{error}{status_code}, 400, 'stream error: status_code');
    like($r->{content}, qr/\n\nevent: error\ndata: \{[^\n]*\}\n\n\z/,
        'stream error: framing');

    # a scripted 429 on a stream request is a plain JSON error
    $groq->enqueue({ error => 'rate_limit' });
    $r = chat(json => user_request('hi', stream => JSON::PP::true));
    is($r->{status}, 429, 'stream request rate-limited: 429');
    like($r->{headers}{'content-type'}, qr{^application/json},
        'stream request rate-limited: a JSON body');

    # stalls between chunks
    $groq->enqueue({ stall_ms => 150, chunks => [ 'a', 'b' ] });
    $r = chat(json => user_request('hi', stream => JSON::PP::true));
    ok($r->{elapsed} >= 0.7, sprintf '5 events 150 ms apart took %.2fs',
        $r->{elapsed});

    $groq->enqueue({ cut => 'reset', cut_after => 2 });
    $r = chat(json => user_request('one two three', stream => JSON::PP::true));
    is($r->{status}, 599, 'stream reset mid-body: the client sees an error');
}

# --- through nginx ------------------------------------------------------------

my $dir = tempdir('fake-groq-nginx-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
make_path("$dir/logs", "$dir/conf", "$dir/temp");

my $nginx_port = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
        LocalPort => 0, Proto => 'tcp', ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    $p;
};

{
    my $upstream = $groq->upstream_conf('fake_groq');
    open my $fh, '>', "$dir/conf/nginx.conf" or die $!;
    print $fh <<"CONF";
daemon            off;
master_process    on;
worker_processes  1;
pid               logs/nginx.pid;
error_log         logs/error.log info;

events {
    worker_connections  64;
}

http {
    access_log             logs/access.log;
    client_body_temp_path  temp/body;
    proxy_temp_path        temp/proxy;
    fastcgi_temp_path      temp/fastcgi;
    uwsgi_temp_path        temp/uwsgi;
    scgi_temp_path         temp/scgi;

    $upstream
    server {
        listen  127.0.0.1:$nginx_port;

        # as the chat module's internal location will: keepalive, the key
        # set here, answers streamed as they come
        location /groq/ {
            proxy_pass             http://fake_groq/openai/v1/;
            proxy_http_version     1.1;
            proxy_set_header       Connection "";
            proxy_set_header       Authorization "Bearer $KEY";
            proxy_buffering        off;
            proxy_connect_timeout  1s;
            proxy_read_timeout     1s;
        }

        # nginx's defaults: HTTP/1.0 to the upstream, buffered
        location /groq10/ {
            proxy_pass             http://127.0.0.1:${\ $groq->port }/openai/v1/;
            proxy_set_header       Authorization "Bearer $KEY";
            proxy_read_timeout     1s;
        }
    }
}
CONF
    close $fh;
}

my @nginx = ('/usr/sbin/nginx', '-p', "$dir/", '-c', 'conf/nginx.conf',
    '-e', 'logs/error.log');
my $nginx_pid = fork() // die "fork: $!";
if ($nginx_pid == 0) {
    open STDIN, '<', '/dev/null';
    open STDOUT, '>>', "$dir/logs/stderr.log";
    open STDERR, '>&', \*STDOUT;
    setpgrp(0, 0);
    exec @nginx or POSIX::_exit(127);
}

END {
    if ($nginx_pid) {
        local $?;
        kill 'QUIT', $nginx_pid;
        my $until = time + 10;
        sleep 0.05 while waitpid($nginx_pid, WNOHANG) == 0 && time < $until;
        kill 'KILL', $nginx_pid if time >= $until;
    }
}

{
    my $until = time + 10;
    my $up;
    while (time < $until) {
        $up = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $nginx_port, Proto => 'tcp') and last;
        sleep 0.05;
    }
    ok($up, 'nginx started') or BAIL_OUT('nginx: '
        . do { local (@ARGV, $/) = "$dir/logs/error.log"; <> // '' });
}

my $via = "http://127.0.0.1:$nginx_port/groq";

{
    $groq->reset;

    my $r = chat(base => $via, json => user_request('through nginx'),
        no_auth => 1);
    is($r->{status}, 200, 'nginx: completion 200');
    is($r->{json}{object}, 'chat.completion', 'nginx: a chat.completion');
    is($r->{headers}{'x-request-id'}, $r->{json}{x_groq}{id},
        'nginx: Groq headers pass through');
    rate_headers_ok($r->{headers}, 'nginx');

    my ($rec) = $groq->completions;
    is($rec->{headers}{authorization}, "Bearer $KEY",
        'nginx: the key is set by the location');
    is_deeply($rec->{body}, user_request('through nginx'),
        'nginx: the body arrives unchanged');

    # the stream, as nginx relays it
    $groq->enqueue({ chunks => [ 'Hel', 'lo ', 'there!' ] });
    $r = chat(base => $via, no_auth => 1, json => user_request('Hello there',
        stream => JSON::PP::true, seed => 42));
    stream_ok($r, 'nginx stream', seed => 42,
        pieces => [ 'Hel', 'lo ', 'there!' ],
        prompt => prompt_tokens('Hello there'),
        completion => ceil(length('Hello there!') / 4));

    # unbuffered: the first event reaches the client before the last leaves
    $groq->enqueue({ stall_ms => 300, chunks => [ 'a', 'b' ] });
    my $body = $json->encode(user_request('hi', stream => JSON::PP::true));
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $nginx_port, Proto => 'tcp') or die $!;
    print $s "POST /groq/chat/completions HTTP/1.0\r\nHost: x\r\n"
        . "Content-Type: application/json\r\nContent-Length: "
        . length($body) . "\r\n\r\n$body";
    my ($buf, $t0, $first, $done) = ('', time);
    my $sel = IO::Select->new($s);
    while ($sel->can_read(5)) {
        last unless sysread($s, $buf, 65536, length $buf);
        $first //= time if $buf =~ /\r\n\r\ndata: /;
        $done //= time if $buf =~ /data: \[DONE\]\n\n/;
    }
    close $s;
    ok($first && $done && $done - $first >= 0.9, sprintf 'nginx: events '
        . 'stream through as they come (first at %.2fs, [DONE] at %.2fs)',
        ($first // 0) - $t0, ($done // 0) - $t0);

    $groq->enqueue({ error => 'rate_limit', retry_after => 7 });
    $r = chat(base => $via, json => user_request('hi'), no_auth => 1);
    is($r->{status}, 429, 'nginx: 429 passes through');
    is($r->{headers}{'retry-after'}, '7', 'nginx: with retry-after');
    is($r->{json}{error}{code}, 'rate_limit_exceeded', 'nginx: and its body');

    # slower than proxy_read_timeout: nginx answers 504 and hangs up
    $groq->enqueue({ delay_ms => 2500 });
    $r = chat(base => $via, json => user_request('slow'), no_auth => 1);
    is($r->{status}, 504, 'nginx: an answer slower than proxy_read_timeout '
        . 'is a 504');
    ok($r->{elapsed} < 2.4, sprintf 'nginx: after the timeout (%.2fs)',
        $r->{elapsed});
    sleep 0.3;
    ok(($groq->completions)[-1]{client_closed},
        'the fake saw nginx hang up');

    $groq->enqueue({ cut => 'reset' });
    $r = chat(base => $via, json => user_request('hi'), no_auth => 1);
    is($r->{status}, 502, 'nginx: a reset upstream is a 502');

    $groq->enqueue({ error => 'service_unavailable' });
    $r = chat(base => $via, json => user_request('hi'), no_auth => 1);
    is($r->{status}, 503, 'nginx: 503 passes through');

    # nginx's default HTTP/1.0 to the upstream: no chunked encoding there
    $groq->enqueue({ chunks => [ 'Hel', 'lo ', 'there!' ] });
    $r = chat(base => "http://127.0.0.1:$nginx_port/groq10", no_auth => 1,
        json => user_request('Hello there', stream => JSON::PP::true,
            seed => 42));
    stream_ok($r, 'nginx HTTP/1.0 stream', seed => 42,
        pieces => [ 'Hel', 'lo ', 'there!' ],
        prompt => prompt_tokens('Hello there'),
        completion => ceil(length('Hello there!') / 4));

    $r = chat(base => "http://127.0.0.1:$nginx_port/groq10", no_auth => 1,
        json => user_request('plain over HTTP/1.0'));
    is($r->{json}{choices}[0]{message}{content},
        'You said: plain over HTTP/1.0', 'nginx HTTP/1.0: completion');
}

{
    my $log = do { local (@ARGV, $/) = "$dir/logs/error.log"; <> // '' };
    my @alerts = grep { /\[(alert|emerg|crit)\]/ } split /\n/, $log;
    is(scalar @alerts, 0, 'nginx: no alerts') or diag(join "\n", @alerts);
}

my $fake_pid = $groq->{pid};
$groq->stop;
ok($fake_pid && !kill(0, $fake_pid), 'the fake server stops');

done_testing;
