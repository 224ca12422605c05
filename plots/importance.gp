# importance.gp: how importance is distributed: per layer, the histogram of log10(Omega) over the layer's
# weights after task 1, one line per method with importances (experiments/impsummary.c: every registered
# method whose entry has an Omega and whose runs saved it; one label each at its selected lambda, its first
# run), as many as the file holds, each in its style from the map. Written with the summaries from the
# save_state output as DIR/importance_hist.csv.
#   gnuplot -e "dir='DIR'; out='DIR/plots/importance'; term='png'" plots/importance.gp
# optional: labels='...', styles='DIR/plots/styles.csv', plotdir='plots'. Size: 1000 x (160 + 220 per
# layer), wider and taller when the legend needs it.
if (!exists("plotdir")) plotdir = 'plots'
NAME = 'importance'
load plotdir.'/common.gp'

F = dir.'/importance_hist.csv'
COLS = 'label layer log10_lo log10_hi fraction'
eval REQUIRE
stats F using (_addl(us(strcol('label')))) nooutput
eval ACC0
stats F using (acc(column('layer'))) nooutput
NL = int(ACC_MAX) + 1
# the methods present in the file, in the order of `labels`
HERE = ''
do for [i = 1:words(labels)] {
    eval ACC0
    stats F using (acc(us(strcol('label')) eq word(labels, i) ? 1 : NaN)) nooutput
    if (ACC_N > 0) { HERE = HERE.' '.word(labels, i) }
}
NM = words(HERE)
if (NM == 0) { exit error sprintf('%s: no importance histograms in %s', NAME, F) }
KEYCH = 0
do for [k = 1:NM] {
    set style line 100 + k lc rgb lcol(word(HERE, k)) dt ldt(word(HERE, k)) lw 2
    KEYCH = strlen(word(HERE, k)) > KEYCH ? strlen(word(HERE, k)) : KEYCH
}
eval READSUB

# the legend (one entry per method, any number of them) in the right margin of 220 pixels, the figure
# growing for long or many entries like the other figures
KEYN = NM
RBASE = 220
W0 = 1000
H0 = 160 + 220 * NL
eval KEYFIT
# KEYFIT makes the margin as wide as the legend; this legend also stands 1.5% in from the right edge
if (KEYX > 0) { KEYX = KEYX + int(0.015 * (W0 + KEYX)) + 10; W = W0 + KEYX }
eval OPEN
set multiplot title 'Importance after task 1: distribution of log10(Ω) over each layer''s weights'.(SUBTITLE ne '' ? "\n".SUBTITLE : '') font FONTNAME.',13'
set lmargin at screen 90.0 / W
set rmargin at screen 1 - (RBASE + KEYX) / (1.0 * W)
TOP = 1.0 - 90.0 / H
BOT = 70.0 / H
PH = (TOP - BOT) / NL
set xrange [-14:4]
set xtics 2
set ylabel 'fraction of weights' font FONTNAME.',10'
do for [l = 0:NL - 1] {
    set tmargin at screen TOP - l * PH
    set bmargin at screen TOP - (l + 1) * PH + 0.035
    if (l == NL - 1) { set xlabel 'log10(Ω)  (zero importance counted in the leftmost bin)'; set format x '%g' } \
    else { unset xlabel; set format x '' }
    set label 1 sprintf('layer %d', l) at graph 0.98, graph 0.88 right front
    plot for [k = 1:NM] F using ((column('log10_lo') + column('log10_hi')) / 2): \
        (us(strcol('label')) eq word(HERE, k) && column('layer') == l ? column('fraction') : NaN) \
        with steps ls 100 + k notitle
}
# The legend, one entry per method however many, as a plot of its own over the right margin from the top
# of the first panel to the bottom of the last: a key inside one layer's panel would wrap into columns at
# that panel's height, past the figure's right edge.
unset label 1
unset xlabel
unset ylabel
unset border
unset tics
unset grid
set tmargin at screen TOP
set bmargin at screen BOT
set lmargin at screen 1 - (RBASE + KEYX) / (1.0 * W)
set rmargin at screen 1
set xrange [0:1]
set yrange [0:1]
set key at screen 0.985, screen TOP right top Left reverse box lc rgb '#bfbfbf' width 1 title 'method'
if (KEYROWS > 0) { set key maxrows KEYROWS }
# (a plot of keyentry alone trips an assertion of gnuplot 5.4: the first element, a line below the range,
# draws nothing)
plot -1 with lines lc rgb 'white' notitle, for [k = 1:NM] keyentry with lines ls 100 + k title word(HERE, k)
unset multiplot
set output
