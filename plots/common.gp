# common.gp: loaded by every figure script in plots/ (gnuplot 5.4).
#
# Input variables (gnuplot -e "..."):
#   dir      the results directory (required; may contain spaces)
#   out      the output file without extension (default: dir/plots/NAME); the script appends .png / .svg
#   term     'png' (pngcairo) or 'svg' (default 'png')
#   labels   optional: the method labels, space-separated, spaces inside a label replaced by '_', in the
#            order of summary.csv. Labels found in the data but missing from the list are appended, so the
#            scripts also work without it.
#   diverged optional: the labels (as in `labels`) every run of which diverged: a figure that has nothing
#            of such a label to draw lists it in its legend as "LABEL: every run diverged".
#   styles   optional: the label-to-style map (a CSV: label, method, color, dash, point, note) that clreg plot
#            writes as DIR/plots/styles.csv from the registry's style of each label's method. Without it
#            the labels get neutral styles by their position in `labels` (see lcol below).
#   plotdir  the directory of these scripts (default 'plots'; the scripts read it before loading this file)
# clreg plot gives the scripts copies of the results files in which every label is a token without blanks,
# quotes or other bytes gnuplot would misread (experiments/plot.c), and passes labels and diverged as
# those tokens. Run by hand on results whose labels are plain names, the scripts read the files as they are.
# The calling script sets NAME (its figure name) before loading this file.
#
# What this file provides:
#   settings     CSV input (separator ",", header row, "nan" and filtered-out rows are missing data, so a
#                line continues across rows of other labels), UTF-8, a white background, no enhanced text
#                (labels and params may contain _ ^ { }).
#   REQUIRE      eval it after setting F (a file) and COLS (its required columns, space-separated): exits
#                with an error when F is missing, has no data rows or lacks a column; sets NROWS. With
#                EMPTYOK = 1 a file with a header only passes (NROWS = 0; its columns are not checked).
#                Call it for every input before OPEN, so that a failed script leaves no output file behind.
#   INFO         eval it after setting F and VAL (a value column): merges the labels of F into `labels`
#                (N = their number) and fills, per label i (1..N), for its selected group (selected == 1):
#                HAS[i] (1 if the group has a finite VAL in F), LAM[i] (lambda, NaN if none),
#                DISP[i] (the label as written in the CSV), PAR[i] (its params); and defines line style
#                100+i per label (colour, dash, point), PRESENT (the indices i with HAS[i], in order; NP of
#                them), DIVL (the indices of the labels in `diverged` without HAS, ND of them) and KEYCH
#                (the length of the longest legend entry of these labels).
#   DIVKEY       (a plot element, see below) the legend entries of DIVL; NODATA (a script to load, then
#                exit) the figure when NP == 0: TITLE, a NOTE, the legend of DIVL.
#   KEYFIT       eval it after setting KEYCH, KEYN (legend entries), RBASE (right margin in pixels for a
#                legend of 24 characters), W0 and H0 (the usual size): sets W, H and KEYX (the extra width),
#                so that a legend of long or many labels fits.
#   ACC0, acc(v) min, max and count of an expression over the rows of a file, see below.
#   OPEN         eval it after setting W and H (pixels): sets the terminal and opens the output file.
#   num(c)       the number in column c (by name), NaN for nan/empty, without dropping the row (see below).
#   lidx(s)      index of a label (as in the CSV, spaces allowed) in `labels`, 0 if absent.
#   _wi(w, list) index of the word w in a blank-separated list, 0 if absent (no recursion: gnuplot stops
#                recursive functions at a depth of about 250, fewer than the labels a grid can have).
#   sel(i)       1 if the current row belongs to label i's selected group (use inside `using`).
#   ltitle(i)    legend text "label, λ=lambda" (no lambda part when it is NaN).
#   lcol(l), ldt(l), lpt(l): colour "#rrggbb", dash type, point type of the label l (underscore form), from
#                `styles`; a label the map lacks (or every label, without a map) by its position in `labels`.
#   lnote(l)     the map's note on the label's method for legends ("upper bound", "no penalty"), or ''.
#   SUBTITLE     "dataset, stream, scenario, tasks x epochs" from the first row of runs.csv, set by INFO;
#                "" when runs.csv cannot be read (gnuplot then prints two warnings, and goes on).
#
# Three gnuplot 5.4 behaviours the scripts work around: `plot for [i = 1:0] ...` (an empty iteration) still
# evaluates its body once, so an element that may iterate over nothing must be harmless for i = 1 and have
# the title '' (no legend entry) then (DIVKEY), or be left out of the command (lambda.gp builds its
# command); `stats` that finds no valid point prints a warning and undefines STATS_*, hence ACC0/acc();
# and a string without '.' converts to a number as an integer, see tonum().

if (!exists("dir")) { exit error "plots: no results directory: call with -e \"dir='DIR'\"" }
if (!exists("NAME")) NAME = 'figure'
if (!exists("term")) term = 'png'
if (term ne 'png' && term ne 'svg') { exit error sprintf("%s: term must be 'png' or 'svg', not '%s'", NAME, term) }
if (!exists("out")) out = dir.'/plots/'.NAME
if (!exists("labels")) labels = ''
if (!exists("diverged")) diverged = ''
if (!exists("EMPTYOK")) EMPTYOK = 0
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
# index of word w in the blank-separated list, 0 if absent: the words before its first occurrence, plus one
_wi(w, list) = (_wp = strstrt(' '.list.' ', ' '.w.' '), _wp == 0 ? 0 : words((' '.list.' ')[1:_wp]) + 1)
lidx(s) = _wi(us(s), labels)
isnum(x) = x == x && abs(x) < 1e300
# a numeric column read through its text: NaN for "nan" or an empty field. Unlike column('name'), it does
# not make gnuplot drop the whole row when the value is missing (gnuplot 5.4 checks the columns named by
# constants in a `using` expression for missing values, and skips the row if one is), so it is the form
# to use in the side-effect `stats` passes over every row.
num(c) = (_s = strcol(c), (_s eq '' || _s eq 'nan' || _s eq '-nan' || _s eq 'NaN') ? NaN : tonum(_s))
# a number from its text, in every form C's %.6g writes: gnuplot 5.4 reads a string without a '.' as an
# integer (strtoll) and fails on what follows, so "1e-05" and "-1e+06" are errors ("Trailing characters");
# with a '.' before the exponent ("1.e-05") the whole string goes through strtod. Strings with a '.' or
# without an exponent ("0.5", "3", "nan", "inf") go to real() as they are.
_epos(s) = strstrt(s, 'e') > 0 ? strstrt(s, 'e') : strstrt(s, 'E')
tonum(s) = (strstrt(s, '.') == 0 && _epos(s) > 1) ? real(s[1:_epos(s) - 1].'.'.s[_epos(s):]) : real(s)

# ---- checking inputs -----------------------------------------------------------------------------------
REQUIRE = "undefine STATS_records; stats F using (0) nooutput; NROWS = exists('STATS_records') ? STATS_records : 0; " . \
  "if (!exists('STATS_records') && !EMPTYOK) { exit error sprintf('%s: cannot read %s, or it has no data rows', NAME, F) }; " . \
  "if (exists('STATS_records')) { " . \
  "_hdr = ' '; do for [_k = 1:STATS_columns] { _hdr = _hdr.STATS_column_header[_k].' ' }; " . \
  "do for [_k = 1:words(COLS)] { if (strstrt(_hdr, ' '.word(COLS, _k).' ') == 0) { " . \
  "exit error sprintf('%s: %s has no column %s', NAME, F, word(COLS, _k)) } } }"

# ---- colours, dashes and points per label -----------------------------------------------------------------
# clreg plot passes `styles`, the label-to-style map it draws with (DIR/plots/styles.csv: label, method,
# color, dash, point, note), derived from each method's fixed style in the registry (experiments/plot.c), so
# a method looks the same in every figure of every grid. Without it (a script run by hand) the scripts know
# no method: each label gets a neutral style by its position in `labels`, the three cycles (12 colours, 4
# dash types, 8 point types) giving 24 distinct combinations. A label missing from the map gets the same.
XCOL = '#9467bd #17becf #e377c2 #bcbd22 #393b79 #8c6d31 #843c39 #7b4173 #3182bd #637939 #e6550d #636363'
XDT = '1 2 4 5'
XPT = '7 5 9 13 11 6 8 10'
SLAB = ''
array SCOL[1]
array SDT[1]
array SPT[1]
array SNOTE[1]
if (exists("styles") && styles ne '') {
  F = styles
  COLS = 'label method color dash point note'
  eval REQUIRE
  _n = NROWS > 0 ? NROWS : 1
  array SCOL[_n]
  array SDT[_n]
  array SPT[_n]
  array SNOTE[_n]
  _k = 0
  stats F using (_k = _k + 1, SLAB = SLAB.' '.strcol('label'), SCOL[_k] = strcol('color'), \
      SDT[_k] = int(num('dash')), SPT[_k] = int(num('point')), SNOTE[_k] = strcol('note'), 0) nooutput
  undefine F COLS
}
_cyc(list, k) = word(list, (k - 1) % words(list) + 1)
_lpos(l) = (_lp = _wi(l, labels), _lp > 0 ? _lp : 1)
# the map's row of label l, 0 if absent (gnuplot evaluates only the chosen branch of ?:, so SCOL[0] is never read)
_srow(l) = _wi(l, SLAB)
lcol(l) = _srow(l) > 0 ? SCOL[_srow(l)] : _cyc(XCOL, _lpos(l))
ldt(l) = _srow(l) > 0 ? SDT[_srow(l)] : int(_cyc(XDT, _lpos(l)))
lpt(l) = _srow(l) > 0 ? SPT[_srow(l)] : int(_cyc(XPT, _lpos(l)))
# what the registry says of the label's method for a legend ("upper bound", "no penalty"), '' if nothing
lnote(l) = _srow(l) > 0 ? SNOTE[_srow(l)] : ''

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
_addl(l) = _wi(l, labels) > 0 ? 0 : (labels = labels.' '.l, 0)
dtitle(i) = DISP[i].': every run diverged'
# the NOTE of a figure without anything to draw (nodata.gp), what: e.g. 'accuracies'
nonote(what) = (ND > 0 && ND == N) ? "every run of every method diverged (its loss became NaN or Inf):\nno ".what." to draw" : \
    "no method has ".what." to draw"
_dv(k) = k <= ND ? int(word(DIVL, k)) : 1
INFO = "stats F using (_addl(us(strcol('label')))) nooutput; N = words(labels); " . \
  "array HAS[N]; array LAM[N]; array DISP[N]; array PAR[N]; " . \
  "do for [_i = 1:N] { HAS[_i] = 0; LAM[_i] = NaN; DISP[_i] = word(labels, _i); PAR[_i] = '' }; " . \
  "stats F using (_i = lidx(strcol('label')), (_i > 0 && column('selected') == 1) ? " . \
  "(LAM[_i] = num('lambda'), DISP[_i] = strcol('label'), PAR[_i] = strcol('params'), " . \
  "HAS[_i] = (HAS[_i] || isnum(num(VAL))), 0) : 0) nooutput; " . \
  "PRESENT = ''; NP = 0; do for [_i = 1:N] { if (HAS[_i]) { PRESENT = PRESENT.' '._i; NP = NP + 1 } }; " . \
  "DIVL = ''; ND = 0; KEYCH = 0; do for [_i = 1:N] { " . \
  "if (!HAS[_i] && _wi(word(labels, _i), diverged) > 0) { DIVL = DIVL.' '._i; ND = ND + 1; " . \
  "KEYCH = strlen(dtitle(_i)) > KEYCH ? strlen(dtitle(_i)) : KEYCH }; " . \
  "if (HAS[_i]) { KEYCH = strlen(ltitle(_i)) > KEYCH ? strlen(ltitle(_i)) : KEYCH } }; " . \
  "do for [_i = 1:N] { set style line 100 + _i lc rgb lcol(word(labels, _i)) dt ldt(word(labels, _i)) " . \
  "pt lpt(word(labels, _i)) lw 2 ps 1.2 }; " . READSUB

# The legend entries of the labels whose every run diverged, as the last element of a plot command:
#   plot ..., for [k = 1:ND] DIVKEY
# (a cross in the label's colour; for ND = 0 gnuplot still evaluates the element once, with k = 1, and the
# title '' adds nothing to the legend)
DIVKEY = "keyentry with points pt 2 ps 1.2 lw 2 lc rgb lcol(word(labels, _dv(k))) title (k <= ND ? dtitle(_dv(k)) : '')"

# ---- the legend's size -------------------------------------------------------------------------------
# about 8.5 pixels per character at 11 points, 105 for the line sample, the box and the gaps beside it;
# rows of 21 pixels. A figure grows to at most HMAX pixels for its legend; a longer legend wraps into
# KEYCOLS columns of KEYROWS rows (0: one column; scripts then `set key maxrows KEYROWS`).
HMAX = 1400
KEYFIT = "_kr = int((HMAX - 190) / 21) - 1; KEYCOLS = KEYN + 1 > _kr ? int(ceil(KEYN / (_kr - 1.0))) : 1; " . \
  "KEYROWS = KEYCOLS > 1 ? _kr : 0; " . \
  "KEYX = KEYCOLS * (105 + 8.5 * KEYCH) - RBASE; KEYX = KEYX > 0 ? int(KEYX) : 0; W = W0 + KEYX; " . \
  "H = KEYCOLS > 1 ? (H0 > HMAX ? H0 : HMAX) : ((H0 > 190 + 21 * (KEYN + 1)) ? H0 : int(190 + 21 * (KEYN + 1)))"

# ---- the terminal ----------------------------------------------------------------------------------------
if (!exists("W")) W = 1000
if (!exists("H")) H = 700
OPEN = "if (term eq 'svg') { set term svg size W, H dynamic font FONT noenhanced background rgb 'white' } " . \
  "else { set term pngcairo size W, H font FONT noenhanced background rgb 'white' }; set output OUTFILE"
