#!/usr/bin/perl
# checksrc.pl - the style that matters, checked in the build (after curl's
# scripts/checksrc.pl).
#
#   checksrc.pl [ROOT]     checks ROOT (default: the repository), exit 1 on a finding
#
# Everywhere: no unbounded string calls (sprintf, vsprintf, strcpy, strcat,
# gets) and no atoi family (it cannot report a bad number).
# In the deterministic code - contracts/ and the engine's pure modules:
# money, dates, the claim and its encoding, the state machine (fsm*) and the
# ledger (ledger*) - nothing that makes the same input give different output
# on another run or machine: floating point, clocks, randomness, the
# environment, the locale.
#
# Comments and string literals are blanked before matching, so a comment may
# name what it avoids.
use strict;
use warnings;

my $root = shift @ARGV // '.';
my @everywhere_dirs = qw(engine contracts adapters include tests);
my @deterministic = (
    qr{^contracts/},
    qr{^engine/(money|date|claim|claim_codec|fsm[^/]*|raft_fsm|ledger[^/]*)\.[ch]$},
);

my %banned_everywhere = (
    'sprintf'  => 'unbounded: use snprintf',
    'vsprintf' => 'unbounded: use vsnprintf',
    'strcpy'   => 'unbounded: use memcpy with a checked length',
    'strcat'   => 'unbounded: use memcpy with a checked length',
    'gets'     => 'unbounded: use fgets',
    'atoi'     => 'cannot report a bad number: parse with a checked function',
    'atol'     => 'cannot report a bad number: parse with a checked function',
    'atoll'    => 'cannot report a bad number: parse with a checked function',
);
my %banned_calls_deterministic = map { $_ => 1 }
    qw(time clock gettimeofday clock_gettime rand srand random srandom drand48
       strtod strtof strtold atof getenv secure_getenv setlocale);
my %banned_words_deterministic = map { $_ => 1 } qw(float double);

# Blanks comments and string/char literals, keeping newlines so line
# numbers stay right.
sub blank_comments_and_strings {
    my ($text) = @_;
    $text =~ s{(/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')}
              { my $m = $1; $m =~ s/[^\n]/ /g; $m }gse;
    return $text;
}

sub files_under {
    my ($dir) = @_;
    my @found;
    opendir(my $dh, "$root/$dir") or return ();
    for my $entry (sort readdir $dh) {
        next if $entry =~ /^\./;
        my $path = "$dir/$entry";
        if (-d "$root/$path") {
            next if $path eq 'tests/checksrc/sample';    # the checker's own bad examples
            push @found, files_under($path);
        } elsif ($entry =~ /\.[ch]$/) {
            push @found, $path;
        }
    }
    closedir $dh;
    return @found;
}

my $findings = 0;
for my $file (map { files_under($_) } @everywhere_dirs) {
    open(my $fh, '<', "$root/$file") or die "checksrc: $file: $!\n";
    my $code = blank_comments_and_strings(do { local $/; <$fh> });
    close $fh;
    my $pure = grep { $file =~ $_ } @deterministic;
    my $line_number = 0;
    for my $line (split /\n/, $code, -1) {
        $line_number++;
        while ($line =~ /\b([A-Za-z_]\w*)\s*\(/g) {
            my $name = $1;
            if (exists $banned_everywhere{$name}) {
                print "$file:$line_number: $name(): $banned_everywhere{$name}\n";
                $findings++;
            } elsif ($pure && $banned_calls_deterministic{$name}) {
                print "$file:$line_number: $name(): not allowed in deterministic code\n";
                $findings++;
            }
        }
        next unless $pure;
        while ($line =~ /\b(float|double)\b/g) {
            print "$file:$line_number: $1: no floating point in deterministic code\n";
            $findings++;
        }
    }
}
if ($findings) {
    print "checksrc: $findings finding(s)\n";
    exit 1;
}
exit 0;
