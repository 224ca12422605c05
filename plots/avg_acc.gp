# avg_acc.gp: average accuracy over the tasks seen so far versus the number of tasks learned (Kirkpatrick et
# al. 2017, Fig. 2B): one line per label (its selected group), error bars one standard deviation over seeds
# and orders; each label in its style from the map (common.gp: the joint upper bound's entry draws it dashed
# black).
#   gnuplot -e "dir='DIR'; out='DIR/plots/avg_acc'; term='png'" plots/avg_acc.gp
# optional: labels='none ewc ...', diverged='...', styles='DIR/plots/styles.csv', plotdir='plots'. Reads
# DIR/summary_tasks.csv (and runs.csv for the subtitle). Size: 1000 x 700, wider and taller for long or many
# legend entries.
if (!exists("plotdir")) plotdir = 'plots'
NAME = 'avg_acc'
load plotdir.'/common.gp'

F = dir.'/summary_tasks.csv'
COLS = 'label params lambda selected tasks_learned avg_acc_mean avg_acc_std'
eval REQUIRE
VAL = 'avg_acc_mean'
eval INFO
TITLE = 'Average accuracy over the tasks learned so far'
if (NP == 0) {
  NOTE = nonote('accuracies')
  load plotdir.'/nodata.gp'
  exit
}

eval ACC0
stats F using (acc(column('tasks_learned'))) nooutput
T = int(ACC_MAX)
# y range: from a tenth below the lowest mean - std of the drawn groups, to 1
_present(i) = strstrt(' '.PRESENT.' ', sprintf(' %d ', i)) > 0
eval ACC0
stats F using (acc((_i = lidx(strcol('label')), _i > 0 && column('selected') == 1 && _present(_i)) ? \
    num('avg_acc_mean') - (isnum(num('avg_acc_std')) ? num('avg_acc_std') : 0) : NaN)) nooutput
YMIN = ACC_N > 0 ? floor(10 * ACC_MIN - 0.5) / 10.0 : 0
YMIN = YMIN < 0 ? 0 : YMIN
YMIN = YMIN > 0.9 ? 0.9 : YMIN

KEYN = NP + ND + 1
RBASE = 270
W0 = 1000
H0 = 700
eval KEYFIT
eval OPEN

set title TITLE.(SUBTITLE ne '' ? "\n".SUBTITLE : '') font FONTNAME.',13'
set xlabel 'tasks trained'
set ylabel 'average accuracy on tasks 1..i (fraction of test set)'
set xrange [0.7:T + 0.3]
set xtics 1
set mxtics 1
set yrange [YMIN:1]
set ytics 0.1 format '%.1f'
set mytics 2
set rmargin at screen 1 - (RBASE + KEYX) / (1.0 * W)
set key at screen 0.985, graph 1 right top Left reverse samplen 3 spacing 1.3 box lc rgb '#bfbfbf' width 1 \
    title 'method (selected λ)'
if (KEYROWS > 0) { set key maxrows KEYROWS }
set label 1 'error bars: ±1 s.d. over seeds and orders' at screen 0.985, graph 0 right front font FONTNAME.',9'

# small horizontal offsets so that the error bars of different labels do not overlap
DX = T > 1 ? 0.012 * (T - 1) : 0.012
off(k) = (k - (NP + 1) / 2.0) * DX
plot for [k = 1:NP] F using (column('tasks_learned') + off(k)):(sel(int(word(PRESENT, k))) ? \
         num('avg_acc_mean') : NaN):(isnum(num('avg_acc_std')) ? num('avg_acc_std') : 0) \
         with yerrorlines ls 100 + int(word(PRESENT, k)) title ltitle(int(word(PRESENT, k))), \
     for [k = 1:ND] @DIVKEY
set output
