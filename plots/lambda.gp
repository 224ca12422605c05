# lambda.gp: mean final accuracy (ACC) versus the penalty strength lambda, log x axis: one line per label
# and params combination over its groups with a finite lambda > 0 (error bars one standard deviation; the
# selected group ringed), and the labels without a lambda (none: the fine-tuning baseline; joint: the upper
# bound, dashed) as horizontal lines at their ACC.
#   gnuplot -e "dir='DIR'; out='DIR/plots/lambda'; term='png'" plots/lambda.gp
# optional: labels='none ewc ...', plotdir='plots'. Reads DIR/summary.csv (and runs.csv for the subtitle).
# Size: 1000 x 700.
if (!exists("plotdir")) plotdir = 'plots'
NAME = 'lambda'
load plotdir.'/common.gp'

F = dir.'/summary.csv'
COLS = 'label regularizer params lambda selected n diverged acc_mean acc_std'
eval REQUIRE
VAL = 'acc_mean'
eval INFO

# ---- lines: the distinct (label, params) combinations with a usable lambda, in file order -------------
MAXC = 200
array CL[MAXC]
array CP[MAXC]
array CT[MAXC]
array CDT[MAXC]
NC = 0
_fc(i, p, k) = k > NC ? 0 : (CL[k] == i && CP[k] eq p ? k : _fc(i, p, k + 1))
_addc(i, p) = (i < 1 || NC >= MAXC || _fc(i, p, 1) > 0) ? 0 : (NC = NC + 1, CL[NC] = i, CP[NC] = p, 0)
haslam(x) = isnum(x) && x > 0
stats F using ((haslam(num('lambda')) && isnum(num('acc_mean'))) ? \
    _addc(lidx(strcol('label')), strcol('params')) : 0) nooutput
# legend text: the label, plus the params words that tell its combinations apart
array NCL[N]
do for [i = 1:N] { NCL[i] = 0 }
do for [k = 1:NC] {
  NCL[CL[k]] = NCL[CL[k]] + 1
  CDT[k] = NCL[CL[k]] == 1 ? ldt(word(labels, CL[k])) : int(word('2 4 5 3 6', (NCL[CL[k]] - 2) % 5 + 1))
  _diff = ''
  do for [w = 1:words(CP[k])] {
    _shared = 1
    do for [m = 1:NC] {
      if (m != k && CL[m] == CL[k] && strstrt(' '.CP[m].' ', ' '.word(CP[k], w).' ') == 0) { _shared = 0 }
    }
    if (!_shared) { _diff = _diff.' '.word(CP[k], w) }
  }
  CT[k] = DISP[CL[k]].(_diff ne '' ? ','._diff : '')
}
matchc(k) = lidx(strcol('label')) == CL[k] && strcol('params') eq CP[k] && haslam(num('lambda'))
# the combinations holding their label's selected group (ringed), and the groups with diverged cells
array CS[MAXC]
do for [k = 1:MAXC] { CS[k] = 0 }
stats F using ((column('selected') == 1 && haslam(num('lambda')) && isnum(num('acc_mean'))) ? \
    (_k = _fc(lidx(strcol('label')), strcol('params'), 1), _k > 0 ? (CS[_k] = 1, 0) : 0) : 0) nooutput
CSEL = ''
do for [k = 1:NC] { if (CS[k]) { CSEL = CSEL.' '.k } }
divg(z) = lidx(strcol('label')) > 0 && haslam(num('lambda')) && column('diverged') > 0
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
btitle(i) = DISP[i].(word(labels, i) eq 'none' ? ' (no penalty)' : (word(labels, i) eq 'joint' ? \
    ' (upper bound)' : '')).sprintf(': %.3f', BV[i])

# ---- ranges ------------------------------------------------------------------------------------------
LMIN = 0.01
LMAX = 100
YLO = 1
YHI = 0
if (NC > 0) {
  eval ACC0
  stats F using (acc(lidx(strcol('label')) > 0 && haslam(num('lambda')) && isnum(num('acc_mean')) ? \
      num('lambda') : NaN)) nooutput
  LMIN = ACC_MIN / 2.0
  LMAX = ACC_MAX * 2.0
  eval ACC0
  stats F using (acc((lidx(strcol('label')) > 0 && haslam(num('lambda'))) ? num('acc_mean') - \
      (isnum(num('acc_std')) ? num('acc_std') : 0) : NaN)) nooutput
  YLO = ACC_N > 0 ? ACC_MIN : YLO
  eval ACC0
  stats F using (acc((lidx(strcol('label')) > 0 && haslam(num('lambda'))) ? num('acc_mean') + \
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

W = 1000
H = 700
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
set rmargin 36
set key at screen 0.985, graph 1 right top Left reverse samplen 3 spacing 1.3 box lc rgb '#bfbfbf' width 1 \
    title 'method'
set label 1 "error bars: ±1 s.d. over seeds and orders\nringed: the selected group of each label" \
    at screen 0.985, graph 0 right front font FONTNAME.',9'
if (NC == 0) {
  set label 2 'no group with a penalty strength λ and an ACC in these results' at graph 0.5, graph 0.5 center \
      font FONTNAME.',13' tc rgb '#606060'
}

# the plot command from the parts that have something to draw (gnuplot runs the body of an empty
# `plot for [...]` iteration once, so empty iterations must not appear); the x and y ranges are fixed, so
# `plot NaN` alone is valid
PLOT = 'plot NaN notitle'
if (NC > 0) {
  PLOT = PLOT.", for [k = 1:NC] F using (num('lambda')):(matchc(k) ? num('acc_mean') : NaN):" . \
    "(isnum(num('acc_std')) ? num('acc_std') : 0) with yerrorlines lc rgb lcol(word(labels, CL[k])) " . \
    "dt CDT[k] pt lpt(word(labels, CL[k])) lw 2 ps 1.2 title CT[k]"
}
if (words(CSEL) > 0) {
  PLOT = PLOT.", for [kk in CSEL] F using (num('lambda')):(matchc(int(kk)) && column('selected') == 1 ? " . \
    "num('acc_mean') : NaN) with points lc rgb lcol(word(labels, CL[int(kk)])) pt 6 ps 2.8 lw 1.5 notitle"
}
if (words(BASE) > 0) {
  PLOT = PLOT.", for [w = 1:words(BASE)] BV[int(word(BASE, w))] with lines ls 100 + int(word(BASE, w)) " . \
    "title btitle(int(word(BASE, w)))"
}
if (NDIV > 0) {
  PLOT = PLOT.", F using (num('lambda')):(divg(0) ? num('acc_mean') : NaN):" . \
    "(sprintf('%d of %d diverged', column('diverged'), column('diverged') + column('n'))) " . \
    "with labels left offset 1.5, -0.9 font FONTNAME.',9' tc rgb '#606060' notitle"
}
eval PLOT
set output
