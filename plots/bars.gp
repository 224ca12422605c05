# bars.gp: ACC, BWT and forgetting of each label's selected group as clustered bars (one cluster per
# metric, one bar per label in its colour), error bars one standard deviation over seeds and orders, the
# value printed at each bar. BWT is negative when tasks are forgotten: the axis includes 0, drawn solid.
#   gnuplot -e "dir='DIR'; out='DIR/plots/bars'; term='png'" plots/bars.gp
# optional: labels='none ewc ...', diverged='...', styles='DIR/plots/styles.csv', plotdir='plots'. Reads
# DIR/summary.csv (and runs.csv for the subtitle). Size: 1000 x 700, wider and taller for long or many legend
# entries.
if (!exists("plotdir")) plotdir = 'plots'
NAME = 'bars'
load plotdir.'/common.gp'

F = dir.'/summary.csv'
COLS = 'label params lambda selected n acc_mean acc_std bwt_mean bwt_std forgetting_mean forgetting_std'
eval REQUIRE
VAL = 'acc_mean'
eval INFO
TITLE = 'Final accuracy (ACC), backward transfer (BWT) and forgetting of each method'
if (NP == 0) {
  NOTE = nonote('an ACC')
  load plotdir.'/nodata.gp'
  exit
}

METRICS = 'acc bwt forgetting'
NM = words(METRICS)
mcol(m) = word(METRICS, m).'_mean'
scol(m) = word(METRICS, m).'_std'
sd(m) = isnum(num(scol(m))) ? num(scol(m)) : 0
# per row: the bar's position (its label's place among the drawn labels; 0 for rows not drawn)
kpos(i) = _wi(sprintf('%d', i), PRESENT)
rowk(z) = (_i = lidx(strcol('label')), (_i > 0 && column('selected') == 1) ? kpos(_i) : 0)
pick(m) = rowk(0) > 0 ? num(mcol(m)) : NaN

# y range: all bars with their error bars, 0 included, room for the printed values (a pass per metric
# and end, not per label: a grid can have hundreds of labels)
YLO = 0
YHI = 0
do for [m = 1:NM] {
  eval ACC0
  stats F using (acc((_v = pick(m)) == _v ? _v - sd(m) : NaN)) nooutput
  if (ACC_N > 0) { YLO = ACC_MIN < YLO ? ACC_MIN : YLO }
  eval ACC0
  stats F using (acc((_v = pick(m)) == _v ? _v + sd(m) : NaN)) nooutput
  if (ACC_N > 0) { YHI = ACC_MAX > YHI ? ACC_MAX : YHI }
}
ROT = NP > 7
PAD = ROT ? 0.12 : 0.06
YLO = YLO < 0 ? floor(10 * (YLO - PAD)) / 10.0 : 0
YHI = ceil(10 * (YHI + PAD)) / 10.0
YHI = YHI < 0.1 ? 0.1 : YHI

KEYN = NP + ND + 1
RBASE = 270
W0 = 1000
H0 = 700
eval KEYFIT
eval OPEN

set title TITLE.(SUBTITLE ne '' ? "\n".SUBTITLE : '') font FONTNAME.',13'
set ylabel 'accuracy, or change of accuracy (fraction of test set)'
set xrange [0.5:NM + 0.5]
set yrange [YLO:YHI]
set ytics 0.1 format '%.1f'
set mytics 2
set xtics scale 0 ("ACC\nfinal average accuracy\n(higher is better)" 1, \
                   "BWT\nbackward transfer\n(negative: forgotten)" 2, \
                   "forgetting\n(Chaudhry et al. 2018)\n(lower is better)" 3)
unset mxtics
set grid noxtics ytics
set xzeroaxis lt -1 lw 1.5
set bmargin 6
set rmargin at screen 1 - (RBASE + KEYX) / (1.0 * W)
set key at screen 0.985, graph 1 right top Left reverse samplen 2 spacing 1.3 box lc rgb '#bfbfbf' width 1 \
    title 'method (selected λ)'
if (KEYROWS > 0) { set key maxrows KEYROWS }
set label 1 'error bars: ±1 s.d. over seeds and orders' at screen 0.985, graph 0 right front font FONTNAME.',9'

BW = 0.8 / NP
off(k) = (k - (NP + 1) / 2.0) * BW
set boxwidth 0.9 * BW absolute
set style fill solid 1.0 border lc rgb '#303030'
set errorbars small
# where to print a value: beyond the end of the error bar, above a positive bar and below a negative one
PXU = (YHI - YLO) / (H - 190.0)
vy(m) = (_v = column(mcol(m))) >= 0 ? _v + sd(m) + (ROT ? 18 : 9) * PXU : _v - sd(m) - (ROT ? 18 : 9) * PXU
VFONT = FONTNAME.','.(NP > 5 ? 8 : 9)
VROT = ROT ? 90 : 0
# per row: the bar's fill colour
rgbof(s) = ('0x'.s[2:]) + 0
fill(k) = rgbof(lcol(word(labels, int(word(PRESENT, k)))))
# the metrics that have a value for some label (BWT and forgetting need two tasks or more)
MOK = ''
do for [m = 1:NM] {
  eval ACC0
  stats F using (acc((rowk(0) > 0) ? num(mcol(m)) : NaN)) nooutput
  if (ACC_N > 0) { MOK = MOK.' '.m }
  if (ACC_N == 0) {
    set label 10 + m "no values\n(defined from two tasks on)" at m, graph 0.5 center tc rgb '#606060'
  }
}

plot for [k = 1:NP] NaN with boxes fc rgb lcol(word(labels, int(word(PRESENT, k)))) title ltitle(int(word(PRESENT, k))), \
     for [m in MOK] F using ((_k = rowk(0)) > 0 ? int(m) + off(_k) : NaN):(column(mcol(int(m)))):(sd(int(m))): \
         (fill(_k > 0 ? _k : 1)) with boxerrorbars fc rgb variable lc rgb '#303030' lw 1 notitle, \
     for [m in MOK] F using ((_k = rowk(0)) > 0 ? int(m) + off(_k) : NaN):(vy(int(m))): \
         (sprintf('%.2f', column(mcol(int(m))))) with labels center rotate by VROT font VFONT notitle, \
     for [k = 1:ND] @DIVKEY
set output
