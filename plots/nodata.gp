# nodata.gp: loaded by a figure script (after common.gp's INFO) when it has nothing to draw, e.g. when every
# run of every method diverged: the figure's TITLE and subtitle, a NOTE in the middle saying why, and the
# legend entries of the labels whose every run diverged (DIVKEY). The caller exits after loading it, so a
# results directory still gets every figure and `clreg plot` succeeds.
#   TITLE, NOTE   set by the caller; optional NDW, NDH: the figure's usual size (default 1000 x 700)
KEYCH = 10
do for [k = 1:ND] { KEYCH = strlen(dtitle(_dv(k))) > KEYCH ? strlen(dtitle(_dv(k))) : KEYCH }
KEYN = ND
RBASE = 270
W0 = exists('NDW') ? NDW : 1000
H0 = exists('NDH') ? NDH : 700
eval KEYFIT
# no legend: the usual size, the note in the middle
if (ND == 0) { W = W0; H = H0; KEYX = 0; KEYROWS = 0; RBASE = 0.05 * W0 }
eval OPEN
unset border
unset tics
unset grid
unset xlabel
unset ylabel
set xrange [0:1]
set yrange [0:1]
set rmargin at screen 1 - (RBASE + KEYX) / (1.0 * W)
set title TITLE.(SUBTITLE ne '' ? "\n".SUBTITLE : '') font FONTNAME.',13'
set label 1 NOTE at graph 0.5, graph 0.5 center font FONTNAME.',13' tc rgb '#606060'
set key at screen 0.985, graph 1 right top Left reverse samplen 2 spacing 1.3 box lc rgb '#bfbfbf' width 1 \
    title 'method'
if (KEYROWS > 0) { set key maxrows KEYROWS }
if (ND == 0) { unset key }
plot NaN notitle, for [k = 1:ND] @DIVKEY
set output
