package Cartbot::JWT;

# Test tokens made without Cartbot's code: HMAC with Digest::SHA, every
# other algorithm with the openssl command line (ECDSA signatures turned
# from DER into JOSE's r || s).  Keys are generated per test run.

use strict;
use warnings;

use Digest::SHA qw/ hmac_sha256 hmac_sha384 hmac_sha512 /;
use File::Temp qw/ tempfile /;
use JSON::PP;
use MIME::Base64 qw/ encode_base64url decode_base64url /;

my $json = JSON::PP->new->canonical;

# alg => [openssl genpkey arguments, digest, extra sign options]
my %ASYM = (
    RS256 => ['-algorithm RSA -pkeyopt rsa_keygen_bits:2048', 'sha256', ''],
    RS384 => ['-algorithm RSA -pkeyopt rsa_keygen_bits:2048', 'sha384', ''],
    RS512 => ['-algorithm RSA -pkeyopt rsa_keygen_bits:2048', 'sha512', ''],
    PS256 => ['-algorithm RSA -pkeyopt rsa_keygen_bits:2048', 'sha256',
        '-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest'],
    PS384 => ['-algorithm RSA -pkeyopt rsa_keygen_bits:2048', 'sha384',
        '-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest'],
    PS512 => ['-algorithm RSA -pkeyopt rsa_keygen_bits:2048', 'sha512',
        '-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest'],
    ES256 => ['-algorithm EC -pkeyopt ec_paramgen_curve:P-256', 'sha256', ''],
    ES384 => ['-algorithm EC -pkeyopt ec_paramgen_curve:P-384', 'sha384', ''],
    ES512 => ['-algorithm EC -pkeyopt ec_paramgen_curve:P-521', 'sha512', ''],
    EdDSA => ['-algorithm ED25519', '', ''],
);

my %ES_LEN = (ES256 => 32, ES384 => 48, ES512 => 66);

sub asymmetric { sort keys %ASYM }

# makes dir/<alg>.key (private) and dir/<alg>.pub (public), returns paths
sub make_key {
    my ($dir, $alg) = @_;
    my $key = "$dir/$alg.key";
    my $pub = "$dir/$alg.pub";
    system("openssl genpkey $ASYM{$alg}[0] -out $key 2>/dev/null") == 0
        or die "genpkey $alg failed";
    system("openssl pkey -in $key -pubout -out $pub 2>/dev/null") == 0
        or die "pkey $alg failed";
    return ($key, $pub);
}

sub b64 { encode_base64url($_[0]) }

sub encode {
    my ($header, $claims) = @_;
    return b64(ref $header ? $json->encode($header) : $header) . '.'
        . b64(ref $claims ? $json->encode($claims) : $claims);
}

# sign(alg, key: secret bytes or a private key path, claims, header extra)
sub sign {
    my ($alg, $key, $claims, %extra) = @_;
    my $input = encode({ alg => $alg, typ => 'JWT', %extra }, $claims);
    return "$input." . b64(signature($alg, $key, $input));
}

sub signature {
    my ($alg, $key, $input) = @_;

    return hmac_sha256($input, $key) if $alg eq 'HS256';
    return hmac_sha384($input, $key) if $alg eq 'HS384';
    return hmac_sha512($input, $key) if $alg eq 'HS512';

    my ($fh, $file) = tempfile(UNLINK => 1);
    binmode $fh;
    print $fh $input;
    close $fh;

    my ($gen, $md, $opts) = @{ $ASYM{$alg} };
    my $sig = $alg eq 'EdDSA'
        ? qx{openssl pkeyutl -sign -inkey $key -rawin -in $file}
        : qx{openssl dgst -$md -sign $key $opts -binary $file};
    die "openssl sign $alg failed" if $? || !length $sig;

    return $alg =~ /^ES/ ? der_to_jose($sig, $ES_LEN{$alg}) : $sig;
}

# SEQUENCE { INTEGER r, INTEGER s } -> r || s, each of the curve's length
sub der_to_jose {
    my ($der, $len) = @_;
    my @b = unpack 'C*', $der;
    my $i = 1;
    $i += ($b[$i] & 0x80) ? 1 + ($b[$i] & 0x7f) : 1;
    my @out;
    for (1 .. 2) {
        $i++;                                   # INTEGER
        my $n = $b[$i++];
        my @v = @b[$i .. $i + $n - 1];
        $i += $n;
        shift @v while @v > $len && $v[0] == 0;
        unshift @v, (0) x ($len - @v);
        push @out, @v;
    }
    return pack 'C*', @out;
}

# flips one character of the signature: still valid base64url
sub tamper_signature {
    my ($token) = @_;
    my ($h, $p, $s) = split /\./, $token;
    my $c = substr($s, 2, 1);
    substr($s, 2, 1) = $c eq 'A' ? 'B' : 'A';
    return "$h.$p.$s";
}

sub tamper_payload {
    my ($token, $claims) = @_;
    my ($h, undef, $s) = split /\./, $token;
    return "$h." . b64($json->encode($claims)) . ".$s";
}

1;
