# common.gp: loaded by every figure script in plots/ (gnuplot 5.4).
#
# Input variables (gnuplot -e "..."):
#   dir      the results directory (required; may contain spaces)
#   out      the output file without extension (default: dir/plots/NAME); the script appends .png / .svg
#   term     'png' (pngcairo) or 'svg' (default 'png')
#   labels   optional: the method labels, space-separated, spaces inside a label replaced by '_', in the
#            order of summary.csv. Labels found in the data but missing from the list are appended, so the
#            scripts also work without it.
#   plotdir  the directory of these scripts (default 'plots'; the scripts read it before loading this file)
# The calling script sets NAME (its figure name) before loading this file.
#
# What this file provides:
#   settings     CSV input (separator ",", header row, "nan" and filtered-out rows are missing data, so a
#                line continues across rows of other labels), UTF-8, a white background, no enhanced text
#                (labels and params may contain _ ^ { }).
#   REQUIRE      eval it after setting F (a file) and COLS (its required columns, space-separated): exits
#                with an error when F is missing, has no data rows or lacks a column. Call it for every
#                input before OPEN, so that a failed script leaves no output file behind.
#   INFO         eval it after setting F and VAL (a value column): merges the labels of F into `labels`
#                (N = their number) and fills, per label i (1..N), for its selected group (selected == 1):
#                HAS[i] (1 if the group has a finite VAL in F), LAM[i] (lambda, NaN if none),
#                DISP[i] (the label as written in the CSV), PAR[i] (its params); and defines line style
#                100+i per label (colour, dash, point), and PRESENT (the indices i with HAS[i], in order).
#   ACC0, acc(v) min, max and count of an expression over the rows of a file, see below.
#   OPEN         eval it after setting W and H (pixels): sets the terminal and opens the output file.
#   num(c)       the number in column c (by name), NaN for nan/empty, without dropping the row (see below).
#   lidx(s)      index of a label (as in the CSV, spaces allowed) in `labels`, 0 if absent.
#   sel(i)       1 if the current row belongs to label i's selected group (use inside `using`).
#   ltitle(i)    legend text "label, λ=lambda" (no lambda part when it is NaN).
#   lcol(l), ldt(l), lpt(l): colour "#rrggbb", dash type, point type of the label l (underscore form).
#   SUBTITLE     "dataset, stream, scenario, tasks x epochs" from the first row of runs.csv, set by INFO;
#                "" when runs.csv cannot be read (gnuplot then prints two warnings, and goes on).
#
# Two gnuplot 5.4 behaviours the scripts work around: `plot for [i = 1:0] ...` (an empty iteration) still
# draws its body once, so a plot command must not contain empty iterations (lambda.gp builds its command);
# and `stats` that finds no valid point prints a warning and undefines STATS_*, hence ACC0/acc().

if (!exists("dir")) { exit error "plots: no results directory: call with -e \"dir='DIR'\"" }
if (!exists("NAME")) NAME = 'figure'
if (!exists("term")) term = 'png'
if (term ne 'png' && term ne 'svg') { exit error sprintf("%s: term must be 'png' or 'svg', not '%s'", NAME, term) }
if (!exists("out")) out = dir.'/plots/'.NAME
if (!exists("labels")) labels = ''
OUTFILE = out.'.'.term
FONTNAME = 'DejaVu Sans'
FONTSIZE = 11
FONT = sprintf('%s,%d', FONTNAME, FONTSIZE)

set encoding utf8
set datafile separator ","
set datafile columnheaders
# "nan" parses as NaN; `missing NaN` makes every NaN (read, or the NaN a filter expression returns for rows
# of other labels) missing data: skipped, and lines connect across it. (`set datafile missing "nan"` would
# treat the NaN of a filter expression as undefined instead, which breaks lines at every filtered row.)
set datafile missing NaN
set key noautotitle
set style fill solid 1.0 noborder
set grid lc rgb '#cccccc' lw 1 dt 3
set border lw 1.2
set tics nomirror out
set mxtics default

# ---- strings and labels --------------------------------------------------------------------------------
# spaces -> underscores (labels are compared in this form)
us(s) = strstrt(s, ' ') == 0 ? s : s[1:strstrt(s, ' ') - 1].'_'.us(s[strstrt(s, ' ') + 1:])
# index of word w in the space-separated list, from position i; 0 if absent
_wi(w, list, i) = i > words(list) ? 0 : (word(list, i) eq w ? i : _wi(w, list, i + 1))
lidx(s) = _wi(us(s), labels, 1)
isnum(x) = x == x && abs(x) < 1e300
# a numeric column read through its text: NaN for "nan" or an empty field. Unlike column('name'), it does
# not make gnuplot drop the whole row when the value is missing (gnuplot 5.4 checks the columns named by
# constants in a `using` expression for missing values, and skips the row if one is), so it is the form
# to use in the side-effect `stats` passes over every row.
num(c) = (_s = strcol(c), (_s eq '' || _s eq 'nan' || _s eq '-nan' || _s eq 'NaN') ? NaN : tonum(_s))
# a number from its text, in every form C's %.6g writes: gnuplot 5.4 reads a string without a '.' as an
# integer (strtoll) and fails on what follows, so "1e-05" and "-1e+06" are errors ("Trailing characters");
# with a '.' before the exponent ("1.e-05") the whole string goes through strtod. Other strings without a
# digit before an 'e' ("nan", "inf") reach strtod unchanged.
_epos(s) = strstrt(s, 'e') > 0 ? strstrt(s, 'e') : strstrt(s, 'E')
tonum(s) = (strstrt(s, '.') == 0 && _epos(s) > 1) ? real(s[1:_epos(s) - 1].'.'.s[_epos(s):]) : real(s)

# ---- colours, dashes and points per method label -----------------------------------------------------
KNOWN = 'none joint l2 ewc mas mas-local si'
KCOL = '#7f7f7f #000000 #8c564b #1f77b4 #ff7f0e #2ca02c #d62728'
KDT = '1 2 1 1 1 1 1'
KPT = '6 4 11 7 5 9 13'
# other labels (e.g. "ewc_online"): by their position among the non-method labels of `labels`
XCOL = '#9467bd #17becf #e377c2 #bcbd22 #393b79 #8c6d31 #843c39 #7b4173 #3182bd #637939 #e6550d #636363'
XDT = '4 5 1 3'
XPT = '8 10 12 14 15 3 2 1'
_xi(l, i, k) = i > words(labels) ? k + 1 : (_wi(word(labels, i), KNOWN, 1) > 0 ? _xi(l, i + 1, k) : (word(labels, i) eq l ? k + 1 : _xi(l, i + 1, k + 1)))
_cyc(list, k) = word(list, (k - 1) % words(list) + 1)
lcol(l) = _wi(l, KNOWN, 1) > 0 ? word(KCOL, _wi(l, KNOWN, 1)) : _cyc(XCOL, _xi(l, 1, 0))
ldt(l) = _wi(l, KNOWN, 1) > 0 ? int(word(KDT, _wi(l, KNOWN, 1))) : int(_cyc(XDT, _xi(l, 1, 0)))
lpt(l) = _wi(l, KNOWN, 1) > 0 ? int(word(KPT, _wi(l, KNOWN, 1))) : int(_cyc(XPT, _xi(l, 1, 0)))

# ---- checking inputs -----------------------------------------------------------------------------------
REQUIRE = "undefine STATS_records; stats F using (0) nooutput; " . \
  "if (!exists('STATS_records')) { exit error sprintf('%s: cannot read %s, or it has no data rows', NAME, F) }; " . \
  "_hdr = ' '; do for [_k = 1:STATS_columns] { _hdr = _hdr.STATS_column_header[_k].' ' }; " . \
  "do for [_k = 1:words(COLS)] { if (strstrt(_hdr, ' '.word(COLS, _k).' ') == 0) { " . \
  "exit error sprintf('%s: %s has no column %s', NAME, F, word(COLS, _k)) } }"

# ---- aggregates without warnings ----------------------------------------------------------------------
# `eval ACC0; stats F using (acc(EXPR)) nooutput` sets ACC_N (the number of rows where EXPR is a finite
# number), ACC_MIN and ACC_MAX. Every row is a valid point for stats (acc returns 0), so stats neither
# warns nor undefines its STATS_* variables when EXPR is NaN on every row.
ACC0 = "ACC_N = 0; ACC_MIN = NaN; ACC_MAX = NaN"
acc(v) = isnum(v) ? (ACC_N = ACC_N + 1, ACC_MIN = (ACC_N == 1 || v < ACC_MIN) ? v : ACC_MIN, \
                     ACC_MAX = (ACC_N == 1 || v > ACC_MAX) ? v : ACC_MAX, 0) : 0

# ---- the stream, for subtitles (optional; read by INFO, i.e. after the checks) ---------------------------
SUBTITLE = ''
READSUB = "_rf = dir.'/runs.csv'; undefine STATS_records; " . \
  "stats _rf using (_dataset = strcol('dataset'), _stream = strcol('stream'), _scen = strcol('scenario'), " . \
  "_tasks = num('tasks'), _epochs = num('epochs'), 0) every ::0::0 nooutput; " . \
  "if (exists('STATS_records') && exists('_dataset') && exists('_tasks') && isnum(_tasks) && isnum(_epochs)) { " . \
  "SUBTITLE = sprintf('%s, %s, %s-incremental, %d task%s × %d epoch%s', _dataset, _stream, _scen, _tasks, " . \
  "_tasks == 1 ? '' : 's', _epochs, _epochs == 1 ? '' : 's') }"

# ---- per-label information of a file -------------------------------------------------------------------
sel(i) = us(strcol('label')) eq word(labels, i) && column('selected') == 1
ltitle(i) = DISP[i].(isnum(LAM[i]) ? sprintf(', λ=%g', LAM[i]) : '')
_addl(l) = _wi(l, labels, 1) > 0 ? 0 : (labels = labels.' '.l, 0)
INFO = "stats F using (_addl(us(strcol('label')))) nooutput; N = words(labels); " . \
  "array HAS[N]; array LAM[N]; array DISP[N]; array PAR[N]; " . \
  "do for [_i = 1:N] { HAS[_i] = 0; LAM[_i] = NaN; DISP[_i] = word(labels, _i); PAR[_i] = '' }; " . \
  "stats F using (_i = lidx(strcol('label')), (_i > 0 && column('selected') == 1) ? " . \
  "(LAM[_i] = num('lambda'), DISP[_i] = strcol('label'), PAR[_i] = strcol('params'), " . \
  "HAS[_i] = (HAS[_i] || isnum(num(VAL))), 0) : 0) nooutput; " . \
  "PRESENT = ''; NP = 0; do for [_i = 1:N] { if (HAS[_i]) { PRESENT = PRESENT.' '._i; NP = NP + 1 } }; " . \
  "do for [_i = 1:N] { set style line 100 + _i lc rgb lcol(word(labels, _i)) dt ldt(word(labels, _i)) " . \
  "pt lpt(word(labels, _i)) lw 2 ps 1.2 }; " . READSUB

# ---- the terminal ----------------------------------------------------------------------------------------
if (!exists("W")) W = 1000
if (!exists("H")) H = 700
OPEN = "if (term eq 'svg') { set term svg size W, H dynamic font FONT noenhanced background rgb 'white' } " . \
  "else { set term pngcairo size W, H font FONT noenhanced background rgb 'white' }; set output OUTFILE"
