#!/usr/bin/perl

# The shipped configuration: conf/cartbot.conf passes "nginx -t" with the
# distribution's binary and the five built modules, whose binary signature
# matches that binary's.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Copy qw/ copy /;
use Test::More;

use Cartbot::Test;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

copy("$Cartbot::Test::TOP/conf/cartbot.conf", $t->dir . '/conf/cartbot.conf')
    or die "copy: $!";

my @args = ('-p', $t->dir . '/', '-c', 'conf/cartbot.conf',
    '-e', 'logs/error.log');
my $out = qx{$t->{nginx} -t @args 2>&1};

is($? >> 8, 0, 'nginx -t conf/cartbot.conf') or diag($out);
like($out, qr/test is successful/, 'nginx says the configuration is fine');

sub signature {
    my ($file) = @_;
    open my $fh, '<:raw', $file or die "$file: $!";
    local $/;
    my $bin = <$fh>;
    my ($sig) = $bin =~ /(\d+,\d+,\d+,[01]{30,})\0/;
    return $sig;
}

my $want = signature($t->{nginx});
ok($want, "the binary's signature: $want");

for my $m (qw/ gateway cart product session chat /) {
    is(signature("$t->{build}/modules/ngx_cartbot_${m}_module.so"), $want,
        "ngx_cartbot_${m}_module.so matches the binary");
}

$t->finish;

done_testing;
