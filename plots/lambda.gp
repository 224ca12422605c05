# lambda.gp: mean final accuracy (ACC) versus the penalty strength lambda, log x axis: one line per label
# and params combination over its groups with a finite lambda > 0 (error bars one standard deviation; the
# selected group ringed); groups with lambda = 0 as points at a "0" left of a break in the axis; and the
# labels without a lambda (such as the fine-tuning baseline and the joint upper bound, which the style map's
# note names) as horizontal lines at their ACC. Labels whose every run diverged are listed in the legend.
#   gnuplot -e "dir='DIR'; out='DIR/plots/lambda'; term='png'" plots/lambda.gp
# optional: labels='none ewc ...', diverged='...', styles='DIR/plots/styles.csv', plotdir='plots'. Reads
# DIR/summary.csv (and runs.csv for the subtitle). Size: 1000 x 700, wider and taller for long or many legend
# entries.
if (!exists("plotdir")) plotdir = 'plots'
NAME = 'lambda'
load plotdir.'/common.gp'

F = dir.'/summary.csv'
COLS = 'label regularizer params lambda selected n diverged acc_mean acc_std'
eval REQUIRE
VAL = 'acc_mean'
eval INFO

# a lambda the figure can place: lambda > 0 on the log axis, lambda = 0 at X0 left of the break
haslam(x) = isnum(x) && x > 0
usable(x) = isnum(x) && x >= 0

# ---- lines: the distinct (label, params) combinations with a usable lambda, in file order -------------
# (at most one per row of the file). Combination k of label index i and params p is found through the
# string CKEYS = ',i"p"k,...' (params as clreg gives them hold no commas or double quotes), without the
# recursion gnuplot stops at a depth of about 250.
MAXC = NROWS > 0 ? NROWS : 1
array CL[MAXC]
array CP[MAXC]
array CT[MAXC]
array CDT[MAXC]
NC = 0
CKEYS = ','
_ck(i, p) = ','.i.'"'.p.'"'
_fc(i, p) = (_fq = strstrt(CKEYS, _ck(i, p)), _fq == 0 ? 0 : \
    (_fr = CKEYS[_fq + strlen(_ck(i, p)):], int(_fr[1:strstrt(_fr, ',') - 1])))
_addc(i, p) = (i < 1 || _fc(i, p) > 0) ? 0 : (NC = NC + 1, CL[NC] = i, CP[NC] = p, CKEYS = CKEYS.i.'"'.p.'"'.NC.',', 0)
stats F using ((usable(num('lambda')) && isnum(num('acc_mean'))) ? \
    _addc(lidx(strcol('label')), strcol('params')) : 0) nooutput
# legend text: the label, plus the params words that tell its combinations apart (LCOMB[i]: the
# combinations of label i, so that this stays linear in the number of labels)
array NCL[N]
array LCOMB[N]
do for [i = 1:N] { NCL[i] = 0; LCOMB[i] = '' }
do for [k = 1:NC] {
  NCL[CL[k]] = NCL[CL[k]] + 1
  LCOMB[CL[k]] = LCOMB[CL[k]].' '.k
  CDT[k] = NCL[CL[k]] == 1 ? ldt(word(labels, CL[k])) : int(word('2 4 5 3 6', (NCL[CL[k]] - 2) % 5 + 1))
}
do for [k = 1:NC] {
  _diff = ''
  do for [w = 1:words(CP[k])] {
    _shared = 1
    do for [mm in LCOMB[CL[k]]] {
      if (int(mm) != k && strstrt(' '.CP[int(mm)].' ', ' '.word(CP[k], w).' ') == 0) { _shared = 0 }
    }
    if (!_shared) { _diff = _diff.' '.word(CP[k], w) }
  }
  CT[k] = DISP[CL[k]].(_diff ne '' ? ','._diff : '')
}
inc(k) = lidx(strcol('label')) == CL[k] && strcol('params') eq CP[k]
matchc(k) = inc(k) && haslam(num('lambda'))
matchz(k) = inc(k) && num('lambda') == 0
# the combinations holding their label's selected group (ringed), those with a lambda = 0 group, and the
# groups with diverged cells
array CS[MAXC]
array CZ[MAXC]
do for [k = 1:MAXC] { CS[k] = 0; CZ[k] = 0 }
stats F using ((usable(num('lambda')) && isnum(num('acc_mean'))) ? \
    (_k = _fc(lidx(strcol('label')), strcol('params')), _k > 0 ? \
     (CS[_k] = CS[_k] || column('selected') == 1, CZ[_k] = CZ[_k] || num('lambda') == 0, 0) : 0) : 0) nooutput
CSEL = ''
CZER = ''
do for [k = 1:NC] {
  if (CS[k]) { CSEL = CSEL.' '.k }
  if (CZ[k]) { CZER = CZER.' '.k }
}
divg(z) = lidx(strcol('label')) > 0 && usable(num('lambda')) && column('diverged') > 0
eval ACC0
stats F using (acc((divg(0) && isnum(num('acc_mean'))) ? 1 : NaN)) nooutput
NDIV = ACC_N

# ---- baselines: labels with no usable lambda, at their selected group's ACC ---------------------------
array BV[N]
array BS[N]
do for [i = 1:N] { BV[i] = NaN; BS[i] = NaN }
stats F using ((_i = lidx(strcol('label')), _i > 0 && column('selected') == 1) ? \
    (BV[_i] = num('acc_mean'), BS[_i] = num('acc_std'), 0) : 0) nooutput
BASE = ''
do for [i = 1:N] { if (NCL[i] == 0 && isnum(BV[i])) { BASE = BASE.' '.i } }
# the registry's word on the label's method (the style map's note: "no penalty", "upper bound"), if any
btitle(i) = DISP[i].(lnote(word(labels, i)) ne '' ? ' ('.lnote(word(labels, i)).')' : '').sprintf(': %.3f', BV[i])

# ---- ranges ------------------------------------------------------------------------------------------
# x: from half the smallest lambda > 0 to twice the largest; with lambda = 0 groups, "0" (X0) a decade and
# a half below the smallest lambda > 0, the axis broken half-way
LMIN = 0.01
LMAX = 100
LPMIN = 1
NZ = words(CZER)
if (NC > 0) {
  eval ACC0
  stats F using (acc(lidx(strcol('label')) > 0 && haslam(num('lambda')) && isnum(num('acc_mean')) ? \
      num('lambda') : NaN)) nooutput
  if (ACC_N > 0) {
    LMIN = ACC_MIN / 2.0
    LMAX = ACC_MAX * 2.0
    LPMIN = ACC_MIN
  } else {
    LMIN = 0.5
    LMAX = 2
  }
}
X0 = LPMIN / 10 ** 1.5
XB = LPMIN / 10 ** 0.75
if (NZ > 0) { LMIN = X0 / 2.0 }
xpos(l) = l > 0 ? l : X0
YLO = 1
YHI = 0
if (NC > 0) {
  eval ACC0
  stats F using (acc((lidx(strcol('label')) > 0 && usable(num('lambda'))) ? num('acc_mean') - \
      (isnum(num('acc_std')) ? num('acc_std') : 0) : NaN)) nooutput
  YLO = ACC_N > 0 ? ACC_MIN : YLO
  eval ACC0
  stats F using (acc((lidx(strcol('label')) > 0 && usable(num('lambda'))) ? num('acc_mean') + \
      (isnum(num('acc_std')) ? num('acc_std') : 0) : NaN)) nooutput
  YHI = ACC_N > 0 ? ACC_MAX : YHI
}
do for [w = 1:words(BASE)] {
  _b = BV[int(word(BASE, w))]
  YLO = _b < YLO ? _b : YLO
  YHI = _b > YHI ? _b : YHI
}
if (YHI < YLO) { YLO = 0; YHI = 1 }
YLO = floor(20 * (YLO - 0.02)) / 20.0
YHI = ceil(20 * (YHI + 0.02)) / 20.0
YLO = YLO < 0 ? 0 : YLO
YHI = YHI > 1 ? 1 : YHI
YHI = YHI <= YLO ? YLO + 0.1 : YHI

# ---- the legend's size -------------------------------------------------------------------------------
KEYCH = 6
do for [k = 1:NC] { KEYCH = strlen(CT[k]) > KEYCH ? strlen(CT[k]) : KEYCH }
do for [w = 1:words(BASE)] { KEYCH = strlen(btitle(int(word(BASE, w)))) > KEYCH ? strlen(btitle(int(word(BASE, w)))) : KEYCH }
do for [k = 1:ND] { KEYCH = strlen(dtitle(_dv(k))) > KEYCH ? strlen(dtitle(_dv(k))) : KEYCH }
KEYN = NC + words(BASE) + ND + 1
RBASE = 330
W0 = 1000
H0 = 700
eval KEYFIT
eval OPEN

set title 'Final average accuracy (ACC) versus penalty strength'.(SUBTITLE ne '' ? "\n".SUBTITLE : '') \
    font FONTNAME.',13'
set xlabel 'lambda (penalty strength, log scale)'
set ylabel 'ACC: mean accuracy on all tasks at the end (fraction of test set)'
set logscale x 10
set format x '%g'
set xrange [LMIN:LMAX]
set yrange [YLO:YHI]
set ytics format '%.2f'
set mytics 2
if (NZ > 0) {
  # "0" and the decades right of the break (at most about 8 labels), and the break: two slanted strokes
  set xtics ('0' X0)
  E1 = ceil(log10(XB) + 1e-9)
  E2 = floor(log10(LMAX) + 1e-9)
  ES = (E2 - E1) / 8 + 1
  if (E2 >= E1) { do for [e = E1:E2:ES] { set xtics add (sprintf('%g', 10.0 ** e) 10.0 ** e) } }
  set arrow 21 from first XB / 1.25, graph -0.02 to first XB / 1.05, graph 0.02 nohead front lw 1.2
  set arrow 22 from first XB * 1.05, graph -0.02 to first XB * 1.25, graph 0.02 nohead front lw 1.2
}
set rmargin at screen 1 - (RBASE + KEYX) / (1.0 * W)
set key at screen 0.985, graph 1 right top Left reverse samplen 3 spacing 1.3 box lc rgb '#bfbfbf' width 1 \
    title 'method'
if (KEYROWS > 0) { set key maxrows KEYROWS }
if (!exists('selected_on')) { selected_on = 'by the best mean ACC' }
set label 1 "error bars: ±1 s.d. over seeds and orders\nringed: each label's selected group, ".selected_on \
    at screen 0.985, graph 0 right front font FONTNAME.',9'
if (NC == 0) {
  set label 2 'no group with a penalty strength λ and an ACC in these results' at graph 0.5, graph 0.5 center \
      font FONTNAME.',13' tc rgb '#606060'
}

# the plot command from the parts that have something to draw (gnuplot evaluates the body of an empty
# `plot for [...]` iteration once, so empty iterations must not appear); the x and y ranges are fixed, so
# `plot NaN` alone is valid
PLOT = 'plot NaN notitle'
if (NC > 0) {
  PLOT = PLOT.", for [k = 1:NC] F using (num('lambda')):(matchc(k) ? num('acc_mean') : NaN):" . \
    "(isnum(num('acc_std')) ? num('acc_std') : 0) with yerrorlines lc rgb lcol(word(labels, CL[k])) " . \
    "dt CDT[k] pt lpt(word(labels, CL[k])) lw 2 ps 1.2 notitle"
  # the legend entries apart: gnuplot leaves out the entry of a line without a point (a combination with
  # lambda = 0 groups only)
  PLOT = PLOT.", for [k = 1:NC] keyentry with yerrorlines lc rgb lcol(word(labels, CL[k])) " . \
    "dt CDT[k] pt lpt(word(labels, CL[k])) lw 2 ps 1.2 title CT[k]"
}
if (NZ > 0) {
  PLOT = PLOT.", for [kk in CZER] F using (X0):(matchz(int(kk)) ? num('acc_mean') : NaN):" . \
    "(isnum(num('acc_std')) ? num('acc_std') : 0) with yerrorbars lc rgb lcol(word(labels, CL[int(kk)])) " . \
    "pt lpt(word(labels, CL[int(kk)])) lw 2 ps 1.2 notitle"
}
if (words(CSEL) > 0) {
  PLOT = PLOT.", for [kk in CSEL] F using (xpos(num('lambda'))):(inc(int(kk)) && usable(num('lambda')) && " . \
    "column('selected') == 1 ? num('acc_mean') : NaN) with points lc rgb lcol(word(labels, CL[int(kk)])) " . \
    "pt 6 ps 2.8 lw 1.5 notitle"
}
if (words(BASE) > 0) {
  PLOT = PLOT.", for [w = 1:words(BASE)] BV[int(word(BASE, w))] with lines ls 100 + int(word(BASE, w)) " . \
    "title btitle(int(word(BASE, w)))"
}
if (NDIV > 0) {
  PLOT = PLOT.", F using (xpos(num('lambda'))):(divg(0) ? num('acc_mean') : NaN):" . \
    "(sprintf('%d of %d diverged', column('diverged'), column('diverged') + column('n'))) " . \
    "with labels left offset 1.5, -0.9 font FONTNAME.',9' tc rgb '#606060' notitle"
}
if (ND > 0) { PLOT = PLOT.", for [k = 1:ND] ".DIVKEY }
eval PLOT
set output
