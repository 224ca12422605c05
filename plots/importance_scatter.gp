# importance_scatter.gp: do EWC and MAS agree on what matters? EWC's Fisher against MAS's Omega for the same
# weights (both after task 1, which every method trains identically for a given seed), log-log, one colour
# per layer, with the correlation of the logarithms per layer in the key.
#   gnuplot -e "dir='DIR'; out='DIR/plots/importance_scatter'; term='png'" plots/importance_scatter.gp
if (!exists("plotdir")) plotdir = 'plots'
NAME = 'importance_scatter'
load plotdir.'/common.gp'

F = dir.'/importance_scatter.csv'
COLS = 'layer ewc mas'
eval REQUIRE
eval ACC0
stats F using (acc(column('layer'))) nooutput
NL = int(ACC_MAX) + 1
array R[NL]
do for [l = 0:NL - 1] {
    undefine STATS_correlation
    stats F using (column('layer') == l ? log10(column('ewc')) : NaN):(column('layer') == l ? log10(column('mas')) : NaN) nooutput
    R[l + 1] = exists('STATS_correlation') ? STATS_correlation : NaN
}
eval READSUB
LCOL = '#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f'

W = 900
H = 800
eval OPEN
set title 'EWC Fisher against MAS Ω for the same weights (after task 1)'.(SUBTITLE ne '' ? "\n".SUBTITLE : '') font FONTNAME.',13'
set logscale xy
set format x '10^{%T}'
set format y '10^{%T}'
set xlabel 'EWC: diagonal Fisher F_i'
set ylabel 'MAS: Ω_i'
set key top left box lc rgb '#bfbfbf' title 'layer (correlation of log values)'
set format x '1e%T'
set format y '1e%T'
plot for [l = 0:NL - 1] F using (column('layer') == l ? column('ewc') : NaN):(column('mas')) \
    with points pt 7 ps 0.4 lc rgb word(LCOL, l % 8 + 1) title sprintf('layer %d (r = %.2f)', l, R[l + 1])
set output
