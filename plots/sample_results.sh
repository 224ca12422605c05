#!/bin/sh
# sample_results.sh DIR [TASKS]: write a small fabricated results directory into DIR (created if needed), in the
# formats of results/README.md, for developing and testing the gnuplot scripts in plots/ without a run.
#
# The numbers are made up (a plausible forgetting model, a fixed pseudo-random generator so the output is
# the same on every machine) but internally consistent: runs.csv metrics are computed from matrix.csv, and
# the summary*.csv / best.csv files aggregate runs.csv, matrix.csv and curves.csv the way `clreg summarize`
# does (groups in the grid's order of labels, then params, then lambda; sample standard deviations; the
# diverged cell left out of the means; `selected` = the group with the highest mean ACC per label).
#
# Stream: 3 (or TASKS, 1..100) permuted Fashion-MNIST tasks, 1 epoch each, curve points every 234 of 468
# steps (x = 0.5, 1.5, 2.5 between the task ends), seeds 1..3, natural order only. Labels: none, joint, ewc
# (lambda 10, 100), mas (lambda 0.1, 1; one cell of lambda 1 diverged), mas-local (lambda 0.1), si
# (lambda 1). The output is the same on every machine (its own random generator, LC_ALL=C).
#
# Optional environment, for the tests of unusual results (e.g. tests/test_plots.c):
#   SAMPLE_GROUPS   the groups instead of the ones above, one per line, fields separated by tabs:
#                     label  regularizer  params  lambda  forgetting  learning  diverged  [noise]
#                   lambda as the grid writes it ("nan" for none), forgetting per task and learning accuracy
#                   as fractions, diverged the number of seeds (the last ones) whose cell diverged, noise a
#                   factor on the differences between seeds (default 1; 0.01 gives standard deviations
#                   that %.6g writes with an exponent, such as 5.7735e-05; 0 gives 0). In label
#                   and params, \n \r \t and \\ stand for a newline, a carriage return, a tab and a backslash,
#                   so that any text can be written (it is CSV-quoted where needed, as clreg writes it).
#   SAMPLE_SEEDS    the number of seeds, 1..20 (default 3)
#   SAMPLE_DATASET  the dataset column of runs.csv (default fashion-mnist; same escapes)
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR [TASKS]" >&2
    exit 2
fi
dir=$1
tasks=${2:-3}
case $tasks in
    '' | *[!0-9]*) tasks_ok=0 ;;
    *) if [ "$tasks" -ge 1 ] && [ "$tasks" -le 100 ]; then tasks_ok=1; else tasks_ok=0; fi ;;
esac
if [ "$tasks_ok" -ne 1 ]; then
    echo "$0: TASKS must be a whole number from 1 to 100, not '$tasks'" >&2
    exit 2
fi
seeds=${SAMPLE_SEEDS:-3}
case $seeds in
    '' | *[!0-9]*) seeds_ok=0 ;;
    *) if [ "$seeds" -ge 1 ] && [ "$seeds" -le 20 ]; then seeds_ok=1; else seeds_ok=0; fi ;;
esac
if [ "$seeds_ok" -ne 1 ]; then
    echo "$0: SAMPLE_SEEDS must be a whole number from 1 to 20, not '$seeds'" >&2
    exit 2
fi
mkdir -p "$dir"

# the directory goes through the environment: awk -v would interpret backslashes in it
SAMPLE_DIR=$dir SAMPLE_TASKS=$tasks SAMPLE_SEEDS=$seeds LC_ALL=C awk '
function rnd() { seed = (seed * 16807) % 2147483647; return seed / 2147483647 }
function noise(a) { return a * NS * (2 * rnd() - 1) }
function clamp(v) { return v < 0.05 ? 0.05 : (v > 0.99 ? 0.99 : v) }
function r4(v) { return int(v * 10000 + 0.5) / 10000 }
function num(v) { return (v == v && v != "nan") ? sprintf("%.6g", v) : "nan" }
function isnan(v) { return v == "nan" }
# a text field as clreg writes it: quoted, with quotes doubled, when it holds a comma, a quote or a line end
function csv(s) { if (s !~ /[,"\n\r]/) return s; gsub(/"/, "\"\"", s); return "\"" s "\"" }
# the escapes of SAMPLE_GROUPS and SAMPLE_DATASET: \n \r \t \\
function unesc(s,    out, c, i) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\" && i < length(s)) {
            c = substr(s, ++i, 1)
            c = c == "n" ? "\n" : (c == "r" ? "\r" : (c == "t" ? "\t" : c))
        }
        out = out c
    }
    return out
}
# mean and sample std of the n values in vals[1..n] that are not "nan"; sets M, S, K
function mstd(vals, n,    i, s, k, v) {
    s = 0; k = 0
    for (i = 1; i <= n; i++) if (!isnan(vals[i])) { s += vals[i]; k++ }
    M = k ? s / k : "nan"
    v = 0
    for (i = 1; i <= n; i++) if (!isnan(vals[i])) v += (vals[i] - M) * (vals[i] - M)
    S = k > 1 ? sqrt(v / (k - 1)) : (k == 1 ? 0 : "nan")
    K = k
}
function grow(lab, reg, par, lam, forget, learn, ndiv, ns) {
    ng++; GL[ng] = lab; GR[ng] = reg; GP[ng] = par; GLAM[ng] = lam; GF[ng] = forget; GLR[ng] = learn
    GDIV[ng] = ndiv; GNS[ng] = ns
}
BEGIN {
    dir = ENVIRON["SAMPLE_DIR"]; tasks = ENVIRON["SAMPLE_TASKS"]
    seed = 20240607
    T = tasks + 0; NSEED = ENVIRON["SAMPLE_SEEDS"] + 0; STEPS = 468; HALF = 234
    DATASET = "fashion-mnist"
    if (ENVIRON["SAMPLE_DATASET"] != "") DATASET = unesc(ENVIRON["SAMPLE_DATASET"])
    ewcp = "fisher=exact mode=separate gamma=1 samples=0 data=train"
    masp = "norm=l2sq estimate=per-sample batch=128 samples=0 data=train"
    # groups in grid order: label, regularizer, params, lambda, forgetting per task, learning accuracy
    if (ENVIRON["SAMPLE_GROUPS"] != "") {
        nl = split(ENVIRON["SAMPLE_GROUPS"], lines, "\n")
        for (k = 1; k <= nl; k++) {
            if (lines[k] == "") continue
            nf = split(lines[k], fld, "\t")
            if (nf != 7 && nf != 8) {
                printf "sample_results.sh: SAMPLE_GROUPS line %d: expected 7 or 8 tab-separated fields\n", k > "/dev/stderr"
                exit 2
            }
            grow(unesc(fld[1]), fld[2], unesc(fld[3]), fld[4], fld[5] + 0, fld[6] + 0, fld[7] + 0, nf == 8 ? fld[8] + 0 : 1)
        }
    } else {
        grow("none", "none", "", "nan", 0.30, 0.865, 0, 1)
        grow("joint", "joint", "", "nan", 0.00, 0.870, 0, 1)
        grow("ewc", "ewc", ewcp, 10, 0.14, 0.860, 0, 1)
        grow("ewc", "ewc", ewcp, 100, 0.045, 0.835, 0, 1)
        grow("mas", "mas", masp, 0.1, 0.11, 0.858, 0, 1)
        grow("mas", "mas", masp, 1, 0.035, 0.790, 1, 1)   # one diverged cell
        grow("mas-local", "mas-local", "samples=0 data=train", 0.1, 0.08, 0.850, 0, 1)
        grow("si", "si", "xi=0.1", 1, 0.06, 0.845, 0, 1)
    }

    ORD = "1"; for (j = 2; j <= T; j++) ORD = ORD " " j
    runs = dir "/runs.csv"; mat = dir "/matrix.csv"; cur = dir "/curves.csv"
    print "run,label,regularizer,params,lambda,dataset,stream,scenario,tasks,hidden,optimizer,lr,epochs,batch,order,order_tasks,seed,acc,bwt,fwt,forgetting,learning,intransigence,diverged,train_sec,importance_sec,eval_sec" > runs
    print "run,trained_task,eval_task,accuracy" > mat
    print "run,trained_task,epoch,step,x,eval_task,accuracy" > cur

    nr = 0
    for (g = 1; g <= ng; g++) for (sd = 1; sd <= NSEED; sd++) {
        r = ++nr; RG[r] = g; RSEED[r] = sd; NS = GNS[g]
        div = sd > NSEED - GDIV[g]
        RD[r] = div
        # R[r,i,j]: i = tasks trained (0..T), j = evaluated task (1..T)
        for (j = 1; j <= T; j++) R[r, 0, j] = r4(0.10 + noise(0.02))
        for (i = 1; i <= T; i++) for (j = 1; j <= T; j++) {
            if (GR[g] == "joint") {
                v = j <= i ? GLR[g] + 0.004 * (i - 1) + noise(0.006) : 0.10 + noise(0.03)
            } else if (j == i) {
                v = GLR[g] + noise(0.01) - 0.01 * (i - 1) * (GF[g] < 0.05)
            } else if (j < i) {
                v = R[r, j, j] * (1 - GF[g]) ^ (i - j) + noise(0.012)
            } else {
                v = 0.10 + noise(0.03)
            }
            if (div && i >= 2) v = 0.1
            R[r, i, j] = r4(clamp(v))
        }
        # metrics
        if (div) { acc = bwt = fwt = fgt = lrn = "nan" }
        else {
            acc = 0; for (j = 1; j <= T; j++) acc += R[r, T, j]; acc /= T
            bwt = 0; for (j = 1; j < T; j++) bwt += R[r, T, j] - R[r, j, j]; bwt = T > 1 ? bwt / (T - 1) : "nan"
            fwt = 0; for (j = 2; j <= T; j++) fwt += R[r, j - 1, j] - R[r, 0, j]; fwt = T > 1 ? fwt / (T - 1) : "nan"
            fgt = 0
            for (j = 1; j < T; j++) {
                mx = -1; for (l = 1; l < T; l++) if (R[r, l, j] > mx) mx = R[r, l, j]
                fgt += mx - R[r, T, j]
            }
            fgt = T > 1 ? fgt / (T - 1) : "nan"
            lrn = 0; for (j = 1; j <= T; j++) lrn += R[r, j, j]; lrn /= T
        }
        RM[r, 1] = acc; RM[r, 2] = bwt; RM[r, 3] = fwt; RM[r, 4] = fgt; RM[r, 5] = lrn
        for (i = 0; i <= T; i++) for (j = 1; j <= T; j++) printf "%d,%d,%d,%s\n", r, i, j, num(R[r, i, j]) > mat
        # curves: before training, then per task the half-way point and the end of the task
        np = 0
        for (j = 1; j <= T; j++) {
            printf "%d,0,0,0,0,%d,%s\n", r, j, num(R[r, 0, j]) > cur
            np++; PX[np] = "0"; PT[np] = 0; PE[np] = j; C[r, np] = R[r, 0, j]
        }
        for (i = 1; i <= T; i++) {
            for (j = 1; j <= T; j++) {
                if (j < i) v = R[r, i - 1, j] + 0.75 * (R[r, i, j] - R[r, i - 1, j]) + noise(0.01)
                else if (j == i) v = 0.93 * R[r, i, j] + noise(0.01)
                else v = R[r, i - 1, j] + noise(0.01)
                if (div && i >= 2) v = 0.1
                v = r4(clamp(v)); x = num(i - 1 + HALF / STEPS)
                printf "%d,%d,1,%d,%s,%d,%s\n", r, i, HALF, x, j, num(v) > cur
                np++; PX[np] = x; PT[np] = i; PE[np] = j; C[r, np] = v
            }
            for (j = 1; j <= T; j++) {
                printf "%d,%d,1,%d,%d,%d,%s\n", r, i, STEPS, i, j, num(R[r, i, j]) > cur
                np++; PX[np] = i; PT[np] = i; PE[np] = j; C[r, np] = R[r, i, j]
            }
        }
    }
    NP = np
    # intransigence against the joint cell of the same seed, then runs.csv
    for (r = 1; r <= nr; r++) {
        jr = 0
        for (q = 1; q <= nr; q++) if (GR[RG[q]] == "joint" && RSEED[q] == RSEED[r]) jr = q
        if (!jr || RD[r] || RD[jr]) RM[r, 6] = "nan"
        else { s = 0; for (j = 1; j <= T; j++) s += R[jr, j, j] - R[r, j, j]; RM[r, 6] = s / T }
        g = RG[r]
        printf "%d,%s,%s,%s,%s,%s,permuted,domain,%d,400 400,adam,0.001,1,128,0,%s,%d", \
            r, csv(GL[g]), GR[g], csv(GP[g]), num(GLAM[g]), csv(DATASET), T, ORD, RSEED[r] > runs
        for (k = 1; k <= 6; k++) printf ",%s", num(RM[r, k]) > runs
        printf ",%d,%.2f,%.2f,%.2f\n", RD[r], 20 + 10 * rnd(), (GR[g] == "none" || GR[g] == "joint") ? 0 : 2 * rnd(), 1 + rnd() > runs
    }
    # the manifest says how many cells the grid has: clreg summarize and plot check the files against it
    printf "clreg (sample_results.sh: fabricated results)\ncells: %d in the grid, %d run by this invocation\n", nr, nr > (dir "/manifest.txt")
    # group metrics (over the cells that did not diverge)
    for (g = 1; g <= ng; g++) {
        for (k = 1; k <= 6; k++) {
            n = 0; split("", vals)
            for (r = 1; r <= nr; r++) if (RG[r] == g && !RD[r]) vals[++n] = RM[r, k]
            mstd(vals, n); GM[g, k] = M; GS[g, k] = S
            if (k == 1) GN[g] = n
        }
        GD[g] = 0; for (r = 1; r <= nr; r++) if (RG[r] == g && RD[r]) GD[g]++
    }
    for (g = 1; g <= ng; g++) {
        SEL[g] = 1
        for (h = 1; h <= ng; h++)
            if (h != g && GL[h] == GL[g] && (isnan(GM[h, 1]) ? isnan(GM[g, 1]) && h < g : \
                                             (isnan(GM[g, 1]) || GM[h, 1] > GM[g, 1] || (GM[h, 1] == GM[g, 1] && h < g))))
                SEL[g] = 0   # the best finite mean ACC; the first group when none has one
    }
    f = dir "/summary.csv"
    print "label,regularizer,params,lambda,selected,n,diverged,acc_mean,acc_std,bwt_mean,bwt_std,fwt_mean,fwt_std,forgetting_mean,forgetting_std,learning_mean,learning_std,intransigence_mean,intransigence_std" > f
    for (g = 1; g <= ng; g++) {
        printf "%s,%s,%s,%s,%d,%d,%d", csv(GL[g]), GR[g], csv(GP[g]), num(GLAM[g]), SEL[g], GN[g], GD[g] > f
        for (k = 1; k <= 6; k++) printf ",%s,%s", num(GM[g, k]), num(GS[g, k]) > f
        printf "\n" > f
    }
    f = dir "/best.csv"
    print "label,params,lambda,acc_mean" > f
    for (g = 1; g <= ng; g++) if (SEL[g]) printf "%s,%s,%s,%s\n", csv(GL[g]), csv(GP[g]), num(GLAM[g]), num(GM[g, 1]) > f
    ft = dir "/summary_tasks.csv"; fm = dir "/summary_matrix.csv"; fc = dir "/summary_curves.csv"
    print "label,params,lambda,selected,tasks_learned,avg_acc_mean,avg_acc_std,n" > ft
    print "label,params,lambda,selected,trained_task,eval_task,acc_mean,acc_std,n" > fm
    print "label,params,lambda,selected,x,trained_task,eval_task,acc_mean,acc_std,n" > fc
    for (g = 1; g <= ng; g++) {
        key = sprintf("%s,%s,%s,%d", csv(GL[g]), csv(GP[g]), num(GLAM[g]), SEL[g])
        for (t = 1; t <= T; t++) {
            n = 0; split("", vals)
            for (r = 1; r <= nr; r++) if (RG[r] == g && !RD[r]) {
                s = 0; for (j = 1; j <= t; j++) s += R[r, t, j]
                vals[++n] = s / t
            }
            mstd(vals, n)
            printf "%s,%d,%s,%s,%d\n", key, t, num(M), num(S), K > ft
        }
        for (t = 0; t <= T; t++) for (j = 1; j <= T; j++) {
            n = 0; split("", vals)
            for (r = 1; r <= nr; r++) if (RG[r] == g && !RD[r]) vals[++n] = R[r, t, j]
            mstd(vals, n)
            printf "%s,%d,%d,%s,%s,%d\n", key, t, j, num(M), num(S), K > fm
        }
        for (p = 1; p <= NP; p++) {
            n = 0; split("", vals)
            for (r = 1; r <= nr; r++) if (RG[r] == g && !RD[r]) vals[++n] = C[r, p]
            mstd(vals, n)
            printf "%s,%s,%d,%d,%s,%s,%d\n", key, PX[p], PT[p], PE[p], num(M), num(S), K > fc
        }
    }
}'
