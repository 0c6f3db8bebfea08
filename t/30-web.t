#!/usr/bin/perl

# The web chat page in a real browser: Debian's chromium, headless, driven
# by t/web/driver.mjs (playwright-core) against nginx with the shipped
# routes and conf/cartbot/web.conf, the built modules and the real
# database with the sample catalog.  Screenshots at desktop and phone width
# go to t/web/screenshots/ (not committed; CARTBOT_WEB_SHOTS=DIR elsewhere).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;

use Cartbot::Test;

my $top = $Cartbot::Test::TOP;
my $chromium = $ENV{CHROMIUM} || '/usr/bin/chromium';
my $shots = $ENV{CARTBOT_WEB_SHOTS} || "$top/t/web/screenshots";

plan skip_all => "no $chromium (make deps installs it)" unless -x $chromium;
plan skip_all => 'no playwright-core in t/web (make deps installs it)'
    unless -d "$top/t/web/node_modules/playwright-core";

my $t = Cartbot::Test->new;

$t->start_db->migrate;

{
    local $ENV{CARTBOT_SECRETS_DIR} = $t->dir . '/conf/secrets';
    my ($rc, $out) = $t->ctl('import', "$top/conf/catalog/sample.json");
    is($rc, 0, 'the sample catalog imports') or diag($out);
}

# as "make run" lays it out: the page under the prefix, the shipped routes
symlink("$top/web", $t->dir . '/web') or die "symlink: $!";

$t->write_conf(<<'CONF');
    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;
        include  cartbot/routes.conf;
        include  cartbot/web.conf;
    }
CONF

$t->run;

# --- the files -----------------------------------------------------------

my $r = $t->get('/');
is($r->{status}, 200, 'GET / is the page');
like($r->{headers}{'content-type'}, qr{^text/html}, 'as HTML');
like($r->{content}, qr{<script src="/web/cartbot\.js" defer>},
    'with its script');
like($r->{headers}{'content-security-policy'} // '', qr/default-src 'self'/,
    'a Content-Security-Policy: same origin only');
unlike($r->{content}, qr/<script>|\bon\w+="/i, 'no inline script to allow');

$r = $t->get('/web/cartbot.js');
like($r->{headers}{'content-type'}, qr{^application/javascript},
    'the script as JavaScript');
is($r->{headers}{'x-content-type-options'}, 'nosniff', 'nosniff');
$r = $t->get('/web/cartbot.css');
like($r->{headers}{'content-type'}, qr{^text/css}, 'the style sheet as CSS');
$r = $t->get('/web/nothing.js');
is($r->{status}, 404, 'a missing file: 404');
is($r->{json}{error}{code}, 'not_found', 'in JSON like every error');

# --- the browser ---------------------------------------------------------

# this run's screenshots only
unlink glob "$shots/*.png";

my %seen;
my $cmd = join ' ', map { quotemeta }
    'timeout', '600', 'node', "$top/t/web/driver.mjs",
    'http://127.0.0.1:' . $t->port, $shots;

{
    local $ENV{CHROMIUM} = $chromium;
    open my $drv, '-|', "$cmd 2>&1" or die "node: $!";

    while (my $line = <$drv>) {
        my $check = eval { decode_json($line) };

        if (!$check) {
            diag($line);
            next;
        }

        $seen{$check->{case}}++;

        ok($check->{ok}, "$check->{case}: $check->{name}")
            or diag($check->{diag} // '');
    }

    close $drv;
}

for my $case (qw/ shop account limited chat chat-limited /) {
    ok($seen{$case}, "the browser ran the $case case");
}

for my $png (qw/ desktop-cart phone-cart desktop-limited desktop-chat
                 phone-chat desktop-order phone-limited /) {
    ok(-s "$shots/$png.png", "screenshot $shots/$png.png");
}

$t->finish;

done_testing;
