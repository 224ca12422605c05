# curves.gp: forgetting curves (Kirkpatrick et al. 2017, Fig. 2A): the test accuracy on each task while
# training proceeds through the stream; one panel per task, stacked, sharing the x axis (tasks trained so
# far, fractional); one line per label, its selected group; task boundaries dashed; the span in which a
# panel's task is trained shaded.
#   gnuplot -e "dir='DIR'; out='DIR/plots/curves'; term='png'" plots/curves.gp
# optional: labels='none ewc ...', diverged='...', styles='DIR/plots/styles.csv', plotdir='plots'. Reads
# DIR/summary_curves.csv (and runs.csv for the subtitle). Size: 1000 wide, 140 + T * (200 | 150 | 110) high
# for T <= 4 | <= 8 | more tasks (20 less without runs.csv); wider and taller when the legend needs it.
if (!exists("plotdir")) plotdir = 'plots'
NAME = 'curves'
load plotdir.'/common.gp'

F = dir.'/summary_curves.csv'
COLS = 'label params lambda selected x trained_task eval_task acc_mean acc_std'
# clreg writes no curve rows for a group whose every run diverged: none at all when every group did
EMPTYOK = 1
eval REQUIRE
VAL = 'acc_mean'
eval INFO
if (NP == 0) {
  TITLE = 'Forgetting curves: accuracy on each task during training'
  NOTE = nonote('accuracies')
  load plotdir.'/nodata.gp'
  exit
}

eval ACC0
stats F using (acc(column('eval_task'))) nooutput
T = ACC_N > 0 ? int(ACC_MAX) : 0
if (T < 1) { exit error sprintf('%s: no task numbers in %s', NAME, F) }

# Where each label's selected group lies in the file, so that a panel's line reads only its own rows
# (filtering every row of a large file for every panel and label is slow: minutes for 20 tasks). The C
# side writes a group's rows contiguously, one time point after the other, each with eval_task 1..T in
# order; this pass verifies that, per label:
#   MODE 2  contiguous rows, eval_task cycling 1..T: task j's rows are `every T::FIRST+j-1::LAST`
#   MODE 1  contiguous rows in another order: `every ::FIRST::LAST`, filtered on eval_task
#   MODE 0  anything else: every row of the file, filtered on label, selected and eval_task
array FIRST[N]
array LAST[N]
array CNT[N]
array BAD[N]
array MODE[N]
do for [i = 1:N] { FIRST[i] = -1; LAST[i] = -1; CNT[i] = 0; BAD[i] = 0 }
_row = -1
stats F using (_row = _row + 1, _i = lidx(strcol('label')), (_i > 0 && column('selected') == 1) ? \
    (FIRST[_i] = FIRST[_i] < 0 ? _row : FIRST[_i], LAST[_i] = _row, \
     BAD[_i] = BAD[_i] || column('eval_task') != CNT[_i] % T + 1, CNT[_i] = CNT[_i] + 1, 0) : 0) nooutput
do for [i = 1:N] {
  MODE[i] = (CNT[i] > 0 && LAST[i] - FIRST[i] + 1 == CNT[i]) ? ((BAD[i] || CNT[i] % T != 0) ? 1 : 2) : 0
  if (MODE[i] == 0) { FIRST[i] = 0; LAST[i] = 2147483647 }
}
# every's start, step and filter for label i in panel j
evs(i, j) = MODE[i] == 2 ? FIRST[i] + j - 1 : FIRST[i]
evd(i) = MODE[i] == 2 ? T : 1
yval(i, j) = MODE[i] == 2 ? column('acc_mean') : (MODE[i] == 1 ? (column('eval_task') == j ? column('acc_mean') : NaN) : \
    ((column('eval_task') == j && sel(i)) ? column('acc_mean') : NaN))
# points per line and panel (of the first label), to thin the point markers on dense curves
_i0 = int(word(PRESENT, 1))
PI = CNT[_i0] > 4 * T * T ? int(CNT[_i0] / (2 * T * T)) : 1

PH = T <= 4 ? 200 : (T <= 8 ? 150 : 110)
TOPPX = SUBTITLE eq '' ? 60 : 80
# at least as tall as the legend (a title row, the shading entry and one row per label), as wide as its
# longest entry needs
KEYCH = KEYCH < 18 ? 18 : KEYCH
KEYN = NP + ND + 1
RBASE = 260
W0 = 1000
H0 = TOPPX + 60 + T * PH
eval KEYFIT
eval OPEN

# panel geometry, in screen fractions
L = 0.10 * W0 / W
R = 1 - (RBASE + KEYX) / (1.0 * W)
TOP = 1.0 - TOPPX / (1.0 * H)
BOT = 60.0 / H
PF = (TOP - BOT) / T
GAP = 20.0 / H

set multiplot
set label 901 'Forgetting curves: accuracy on each task during training' at screen 0.5, screen 1 - 22.0 / H \
    center font FONTNAME.',14'
if (SUBTITLE ne '') { set label 902 SUBTITLE at screen 0.5, screen 1 - 48.0 / H center }
set label 903 'accuracy (fraction of test set)' at screen 0.025, screen (TOP + BOT) / 2 center rotate by 90

# the legend: an empty plot of its own right of the panels, as tall as all of them (a key inside the first
# panel would be cut to that panel's height)
set tmargin at screen TOP
set bmargin at screen BOT
set lmargin at screen R + 0.015
set rmargin at screen 0.995
unset border
unset tics
unset grid
set xrange [0:1]
set yrange [0:1]
set key at graph 0, graph 1 left top Left reverse samplen 3 spacing 1.3 box lc rgb '#bfbfbf' width 1 \
    title 'method (selected λ)'
if (KEYROWS > 0) { set key maxrows KEYROWS }
plot NaN with boxes fc rgb '#ececec' title 'training this task', \
     for [k = 1:NP] NaN with linespoints ls 100 + int(word(PRESENT, k)) title ltitle(int(word(PRESENT, k))), \
     for [k = 1:ND] @DIVKEY
unset label 901
unset label 902
unset label 903
unset key

# the panels
set border 31 lw 1.2
set grid ytics lc rgb '#cccccc' lw 1 dt 3
set xrange [0:T]
set yrange [0:1]
set ytics 0, 0.5, 1 format '%.1f' nomirror out
set mytics 5
set xtics 1 nomirror out
set mxtics 2
set lmargin at screen L
set rmargin at screen R
do for [k = 1:T - 1] {
  set arrow 100 + k from k, graph 0 to k, graph 1 nohead back lc rgb '#606060' dt 2 lw 1
}

do for [j = 1:T] {
  set tmargin at screen TOP - (j - 1) * PF
  set bmargin at screen TOP - j * PF + GAP
  set ylabel sprintf('task %d', j) offset 1, 0
  set object 1 rect from j - 1, graph 0 to j, graph 1 back fc rgb '#ececec' fs solid 1.0 noborder
  if (j < T) {
    set format x ''
    unset xlabel
  } else {
    set format x '%g'
    set xlabel 'tasks trained'
  }
  plot for [k = 1:NP] F every evd(int(word(PRESENT, k)))::evs(int(word(PRESENT, k)), j)::LAST[int(word(PRESENT, k))] \
           using (column('x')):(yval(int(word(PRESENT, k)), j)) with linespoints ls 100 + int(word(PRESENT, k)) pi PI
}
unset multiplot
set output
