# matrix.gp: the accuracy matrix R[i][j] of one label's selected group as a heat map, the value printed in
# each cell: x = the evaluated task j, y = the number of tasks trained i (0, before training, at the top).
#   gnuplot -e "dir='DIR'; out='DIR/plots/matrix_LABEL'; term='png'; label='LABEL'" plots/matrix.gp
# LABEL as in the CSV or with its spaces replaced by '_'. optional: labels='none ewc ...', plotdir='plots'.
# Reads DIR/summary_matrix.csv (and runs.csv for the subtitle). Size: 900 x 800.
if (!exists("plotdir")) plotdir = 'plots'
if (!exists("label")) { exit error "matrix: no label: call with -e \"label='LABEL'\"" }
NAME = 'matrix_'.label
load plotdir.'/common.gp'

F = dir.'/summary_matrix.csv'
COLS = 'label params lambda selected trained_task eval_task acc_mean acc_std n'
eval REQUIRE
VAL = 'acc_mean'
eval INFO
LI = lidx(label)
if (LI == 0) { exit error sprintf("%s: label '%s' not in %s", NAME, label, F) }
# a label without accuracies (every run diverged, or none in this file): the figure says so
if (!HAS[LI]) {
  TITLE = sprintf('accuracy matrix R[i][j], %s', DISP[LI])
  NOTE = _wi(word(labels, LI), diverged) > 0 ? \
      sprintf("every run of %s diverged (its loss became NaN or Inf):\nno accuracies to show", DISP[LI]) : \
      sprintf('%s has no accuracies in summary_matrix.csv', DISP[LI])
  ND = 0
  NDW = 900
  NDH = 800
  load plotdir.'/nodata.gp'
  exit
}

eval ACC0
stats F using (acc(sel(LI) ? column('eval_task') : NaN)) nooutput
T = int(ACC_MAX)
eval ACC0
stats F using (acc(sel(LI) ? column('n') : NaN)) nooutput
NRUNS = ACC_N > 0 ? int(ACC_MAX) : 0

W = 900
H = 800
eval OPEN

set title sprintf('accuracy matrix R[i][j], %s', ltitle(LI)). \
    "\n".(SUBTITLE ne '' ? SUBTITLE.', ' : '').sprintf('mean of %d run%s', NRUNS, NRUNS == 1 ? '' : 's') \
    font FONTNAME.',13'
set xlabel 'evaluated task j'
set ylabel 'tasks trained i (0: before training)'
set cblabel 'accuracy (fraction of test set)'
set xrange [0.5:T + 0.5]
set yrange [T + 0.5:-0.5]
set xtics 1 scale 0
set ytics 1 scale 0
unset mxtics
unset mytics
unset grid
set border lw 1
set size ratio -1
set cbrange [0:1]
set cbtics 0.2 format '%.1f'
# viridis-like: dark blue (0) to yellow (1), readable in grey scale
set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21918c', 0.75 '#5ec962', 1 '#fde725')
set palette maxcolors 0
FS = T <= 6 ? 13 : (T <= 10 ? 10 : (T <= 15 ? 8 : 6))
SHOW = T <= 25
dark(v) = v < 0.55

plot F using (column('eval_task')):(column('trained_task')):(0.5):(0.5):(sel(LI) ? column('acc_mean') : NaN) \
         with boxxyerror fs solid 1.0 border lc rgb 'white' lw 1.5 fc palette notitle, \
     F using (column('eval_task')):((SHOW && sel(LI) && dark(column('acc_mean'))) ? column('trained_task') : NaN): \
         (sprintf('%.2f', column('acc_mean'))) with labels center font FONTNAME.','.FS tc rgb 'white' notitle, \
     F using (column('eval_task')):((SHOW && sel(LI) && !dark(column('acc_mean'))) ? column('trained_task') : NaN): \
         (sprintf('%.2f', column('acc_mean'))) with labels center font FONTNAME.','.FS tc rgb 'black' notitle
set output
