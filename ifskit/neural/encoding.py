"""Point clouds to IFS in one forward pass of the encoder, optionally refined by the fitter (torch)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..analysis import chamfer_distance
from ..errors import FormatError, ParameterError
from ..fitting import grow as grow_maps
from ..fitting import kmeans_starts
from ..fitting import refine as refine_maps
from ..fitting.api import COVER_GOOD_ENOUGH
from ..fitting.checks import subsample as fitter_sample
from ..fitting.choice import AUTO_PENALTY, attractor_iou, count_figure, quality_score
from ..fitting.occupancy import CURVE_FILL, fine_fill, target_occupancy
from ..ifs import IFS
from ..ops.device import one_torch_thread, resolve_device
from ..ops.losses import CHAIN_SHARE_FLOOR, attractor_chamfer, collage_owner, map_shares
from ..render import chaos_game
from . import shipped
from .model import MIN_POINTS, denormalize_maps, farthest_points, load_checkpoint, normalize, subsample

# Probability floor of a map, as a fraction of a uniform share: a map that covers
# none of the sampled points must still be visited by the chaos game.
_P_FLOOR = 0.05
# Initial Adam learning rate of the refinement, on the maps' matrix entries (see
# ifskit.fitting.refine): 0.005 / 0.01 / 0.02 / 0.03 / 0.04 gave 0.0187 / 0.0178 / 0.0173 /
# 0.0173 / 0.0171 after 30 steps on 96 clouds of seeds 777 and 778 (0.0180 with the
# fitter's angles and singular values at their best rate, 0.05).
_REFINE_LR = 0.03
# Weight of the attractor term in the refinement (see ifskit.fitting.refine).
_REFINE_ATTRACTOR = 1.0
# Rounds of snapping the encoder's maps to the parts they cover before the steps
# (see ifskit.fitting.refine), ~12 ms each, and points per step (sources, covered): half
# the fitter's. On 48 clouds (seeds 777, 778), mean Chamfer after 10 / 20 steps and
# ms per cloud: one round, the fitter's points 0.0209 / 0.0192 at 100 / 173 ms; two
# rounds 0.0202 / 0.0187 at 112 / 189 ms; two rounds, half the points 0.0207 / 0.0189
# at 85 / 131 ms: the best quality for the time.
_REFINE_SNAP_ROUNDS = 2
_REFINE_STEP_POINTS = (512, 1024)
#: Most maps of the refinement's map-count changes (:func:`ifskit.fitting.grow`), and the cloud points
#: per polish step (sources, covered). On the 2D development shapes of benchmarks/bench_real.py (seed 0),
#: 30 steps: mean IoU 0.748 with 16 maps and (512, 1024) points, 0.810 with 32 maps and (256, 1024)
#: (the collage of 32 maps as large as that of 16), 0.793 with 48 and (192, 1024); 3D mean Chamfer
#: 0.80% with 16 maps, 0.65% with 32. Each count is chosen by the fitter's rule, so fewer maps are
#: kept where they do as well (20 to 28 of 32 on those shapes; 28 to 32 since the 2D counts are
#: judged at the finer grid, mean IoU 0.838 on seed 0 and 0.842 on seed 2; up to 48 maps gave 0.854 /
#: 0.862 with 39 / 41 maps kept, a larger IFS for 0.015).
GROW_MAX_MAPS = 32
GROW_STEP_POINTS = (256, 1024)
# Input points whose images make the collage of the anchor copies, which gives their probabilities.
_COPIES_SOURCES = 32
#: Most views of a cloud the encoder can read for a refinement (see encode's ``views``).
MAX_VIEWS = 4
#: Numbers of maps the refinement of a curve-like 2D cloud also starts from (the encoder's heads
#: in every view, and :data:`CURVE_RESTARTS` of the fitter's k-means starts each): a curve is
#: drawn by a few maps, which grown copies and blurred one-shot maps miss.
CURVE_MAPS = (2, 3)
CURVE_RESTARTS = 2


#: Penalty per map of the number-of-maps choice, in units of the normalized cloud (radius 1):
#: the head whose attractor chains are nearest the cloud wins, ``chamfer + penalty * K``. A
#: tie-breaker: on the 2D development shapes of benchmarks/bench_real.py (one shot, the 2D model
#: at step 5000 of its training) mean IoU 0.566 / 0.562 / 0.553 / 0.550 / 0.514 with penalties
#: 0 / 0.0005 / 0.001 / 0.002 / 0.004, the best head of each shape 0.587.
MAP_PENALTY = 0.0005


@lru_cache(maxsize=4)
def _cached_model(path: str, device: str, dim: int | None):
    return load_model(path, device=device, dim=dim)


def load_model(path=None, device=None, dim: int | None = None):
    """An encoder in eval mode: by default the shipped model of dimension ``dim`` (2 if not given).

    Parameters
    ----------
    path : str or Path, optional
        Checkpoint written by ``ifskit train-encoder`` or :func:`ifskit.neural.train.train_encoder`.
    device : str, optional
    dim : {2, 3}, optional
        The clouds' dimension: picks the shipped model, and refuses a checkpoint of another.

    Returns
    -------
    PointCloudEncoder

    Raises
    ------
    FormatError
        Missing, truncated or mismatched checkpoint; a checkpoint for another dimension.
    IfskitError
        ``device="cuda"`` where CUDA is not available.
    """

    if path is None:
        path = shipped.WEIGHTS.get(dim or 2)
        if path is None or not path.is_file():
            raise FormatError(f"no shipped encoder for {dim}D clouds; train one with ifskit train-encoder --dim {dim}")
    return load_checkpoint(path, dim=dim, device=resolve_device(device, "encode"))[0]


def encode(points, refine: int = 0, model=None, device=None, n_maps: int | None = None, seed: int = 0, views: int = 2):
    """IFS whose attractors approximate point clouds, by one forward pass of the encoder.

    Parameters
    ----------
    points : array_like, shape (N, d), or a list of such arrays, or an array (B, N, d)
        Clouds of any size (at least 16 points) in their own coordinates. Clouds
        with more points than the model's input size are subsampled (seeded),
        smaller ones are padded with repeats of their own points.
    refine : int
        Steps of the fitter's optimization after the one shot; 0 for the one-shot answer.
        Without ``n_maps`` the number of maps changes: the one shot is grown into a cover
        of the cloud (up to :data:`GROW_MAX_MAPS` copies of the shape on the cells it
        misses) and polished by the steps (:func:`ifskit.fitting.grow`). The steps also
        refine the encoder's own maps (:func:`ifskit.fitting.refine`, after two rounds of
        snapping each map to the part of the cloud it covers; clouds of the same size
        together in batches, each getting the answer it would get alone) with ``n_maps``,
        in 3D, and in 2D where the grown maps do not beat the one shot or their attractor
        does not cover the cloud (IoU below 0.75 at its resolution, the fitter's test for
        its k-means fits: an attractor of a few maps, dust). In 2D where the grown maps do
        cover it, the steps refine the encoder's fewest maps (2, the cloud as given) too: a
        curve drawn by two maps (a dragon) is covered by copies, but its two maps are the
        answer. A 2D cloud that fills its cells as a curve does
        (:func:`~ifskit.fitting.occupancy.fine_fill` below
        :data:`~ifskit.fitting.occupancy.CURVE_FILL`: the Koch curve) is also refined from
        :data:`CURVE_MAPS` maps of the heads (every view) and of the fitter's k-means starts
        (:func:`ifskit.fitting.kmeans_starts`), and its candidates are judged at its own
        resolution. Then the attractor nearest the cloud is kept. On the 2D development shapes
        of benchmarks/bench_real.py (seed 0) 30 steps gave mean IoU 0.838 with the growth,
        0.630 without.
    model : str, Path or PointCloudEncoder, optional
        Default: the shipped model of the clouds' dimension
        (``ifskit/neural/weights/encoder_2d.pt``, ``encoder_3d.pt``).
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; default CPU.
    n_maps : int, optional
        Number of maps, one of the model's ``map_counts`` (the shipped 2D model: its heads'
        2 to 8, and 48, its anchor copies; the 3D model: 2 to 8), kept by the refinement;
        default, per cloud, the head whose attractor is nearest the cloud: short chaos-game
        chains started from the cloud, ``chamfer + MAP_PENALTY * K`` in the normalized frame
        (the maps' predicted attractor quality; one more map must earn its place). Without
        ``refine`` the anchor copies (:class:`~ifskit.neural.model.AnchorCopies`: a shrunken,
        turned copy of the whole cloud at each of 48 farthest-point anchors) compete too,
        charged as the largest head (``K = 8``: the penalty breaks ties between the heads'
        counts; at 48 maps it would outweigh the differences it is there to break). The
        copies draw what few maps cannot (a letter, a silhouette), and their predicted
        attractors were the nearer on every 2D development shape and on the random IFS of the
        development draws; ask for ``n_maps`` or ``refine`` for an IFS of few maps. The
        refinement starts from the heads (its growth makes copies of its own).
    seed : int
        Subsampling of large clouds; same seed, same answer.
    views : int
        With ``refine``: the encoder also reads the cloud mirrored (``views=2``, the
        default), turned by 90 degrees (3) and with two axes swapped (4), and its answers,
        mapped back, are candidate starts. Each is snapped and refined for the first
        fifth of the steps, then the one whose attractor is nearest the cloud goes on
        (as the fitter's restarts). The network's answer for one view is a blurred
        average that often sits in a poorer local optimum than another view's; on 96
        clouds (seeds 777, 778) after 30 steps, mean Chamfer 0.0176 with 1 view, 0.0157
        with 2, 0.0153 with 3, 0.0147 with 4, each view costing about 50 ms more.
        1 to 4; without ``refine`` only the cloud as given is read.

    Returns
    -------
    IFS, or list of IFS
        One IFS for one cloud ``(N, d)``, else a list, of up to ``max(map_counts)`` maps
        (:data:`GROW_MAX_MAPS` when refined without ``n_maps``). Every map has
        ``||A_i||_2 <= max_contraction`` (0.9 for the shipped model). The
        probabilities are the shares of the cloud that each map's image covers
        (its nearest collage points), the invariant measure's ``mu(w_i(A)) = p_i``
        when the images do not overlap.

    Raises
    ------
    FormatError
        A cloud with NaN/infinite values, fewer than 16 points, or another dimension
        than the model's; an unknown ``n_maps``; ``views`` outside 1 .. 4; a bad checkpoint.
    IfskitError
        ``device="cuda"`` where CUDA is not available.
    """

    single = not isinstance(points, (list, tuple)) and np.ndim(points) == 2
    clouds = [np.asarray(c, dtype=float) for c in ([points] if single else list(points))]
    if not clouds:
        return []
    device = resolve_device(device, "encode")
    if model is None or isinstance(model, (str, Path)):
        # the shipped model of the clouds' dimension; a given checkpoint as it is (check_cloud names the cloud)
        dim = clouds[0].shape[1] if model is None and clouds[0].ndim == 2 and clouds[0].shape[1] in (2, 3) else None
        if model is None and dim in shipped.WEIGHTS and shipped.WEIGHTS[dim].is_file():
            model = shipped.WEIGHTS[dim]  # cached by its path
        model = _cached_model(None if model is None else str(model), str(device), dim)
    for i, cloud in enumerate(clouds):
        check_cloud(cloud, model.dim, f"cloud {i}")
    if not (isinstance(views, (int, np.integer)) and 1 <= views <= MAX_VIEWS):
        raise ParameterError(f"views must be an integer from 1 to {MAX_VIEWS}, got {views!r}", "views")
    if n_maps is not None and n_maps not in model.map_counts:
        raise ParameterError(f"n_maps: this encoder gives {model.map_counts} maps, not {n_maps}", "n_maps")
    transforms = view_transforms(model.dim)[: views if refine else 1]
    one_shot = _OneShot(model, clouds, transforms, n_maps, seed, device, copies=not refine)
    if not refine:
        return one_shot.chosen[0][0] if single else [views[0] for views in one_shot.chosen]
    result = _refined(clouds, one_shot, refine, n_maps, seed, device)
    return result[0] if single else result


class _OneShot:
    """The network's answers for a batch of clouds, each read in every view: the forward pass of :func:`encode`.

    Parameters
    ----------
    model : PointCloudEncoder
    clouds : list of ndarray, shape (N_i, d)
        Checked clouds, in their own coordinates.
    transforms : ndarray, shape (V, d, d)
        The views (:func:`view_transforms`): view ``v`` reads ``M_v x``.
    n_maps : int or None
        Only the head of ``n_maps`` maps; else every head, the count chosen per cloud.
    seed : int
        Subsampling to the model's input size.
    device : torch.device
    copies : bool
        Without ``n_maps``: whether the model's anchor copies (where it has them) compete with its
        heads.

    Attributes
    ----------
    chosen : list of list of IFS
        Per cloud, per view, the maps of the head chosen on the cloud as given (or of
        ``n_maps``), in the cloud's coordinates.
    """

    def __init__(
        self, model, clouds: list, transforms: np.ndarray, n_maps: int | None, seed: int, device, copies: bool = True
    ):
        self.model, self.transforms, self.device = model, transforms, device
        self.n_views = n_views = len(transforms)
        # heads by index into model.map_counts: the copies, where the model has them, come last
        counts = model.map_counts
        n_heads = len(model.k_values) + int(copies and model.copies is not None)
        heads = range(n_heads) if n_maps is None else [counts.index(n_maps)]
        n_input = model.hparams["n_input"]
        # a fresh stream per cloud: its answer does not depend on its place in the batch
        subsamples = np.stack([subsample(c, n_input, np.random.default_rng(seed)) for c in clouds])
        # rows: cloud 0 in every view, cloud 1 in every view, ...; view v reads M_v x
        inputs = np.einsum("vij,bnj->bvni", transforms, subsamples).reshape(-1, *subsamples.shape[1:])
        # one torch thread, as the fitter: the tensors are small and threads mostly wait for each other
        with torch.no_grad(), one_torch_thread():
            x = torch.as_tensor(inputs, dtype=torch.float32, device=device)
            normalized, self.centre, self.scale = normalize(x)
            # each cloud's rows through the network alone, heads included: the rounding of a float32 matrix
            # product may depend on the rows beside it (3e-8 on a small model), and an answer must not depend
            # on the batch
            features = [model.features(normalized[i : i + n_views]) for i in range(0, len(normalized), n_views)]
            # per head (its index in model.k_values): the maps of every row, and the map covering each point
            # (B * V, N), whose shares are the probabilities
            self.maps, self.owners = {}, {}
            for head in heads:
                if head < len(model.k_values):
                    maps = [model.head_maps(feature, head) for feature in features]
                else:
                    # the anchors of every row at once: elementwise steps, the same bits in any batch
                    anchors = farthest_points(normalized, model.copies.anchors)
                    rows = range(0, len(normalized), n_views)
                    maps = [model.copies(normalized[i : i + n_views], anchors[i : i + n_views]) for i in rows]
                self.maps[head] = (torch.cat([A for A, _ in maps]), torch.cat([b for _, b in maps]))
                # the copies' collage from a sample of the (randomly subsampled) input: as many images as 6 maps'
                sources = normalized[:, :_COPIES_SOURCES] if head == len(model.k_values) else None
                self.owners[head] = collage_owner(normalized, *self.maps[head], sources=sources)
            # the number of maps is chosen on the cloud as given; the other views give that many
            quality = head_quality(
                normalized[::n_views],
                [(A[::n_views], b[::n_views]) for A, b in self.maps.values()],
                [owner[::n_views] for owner in self.owners.values()],
                seed,
                charged=[min(counts[head], max(model.k_values)) for head in self.maps],
            )
        choice = np.repeat(np.array(list(self.maps))[quality.argmin(axis=1)], n_views)
        answers = [None] * len(inputs)
        for head in np.unique(choice):
            rows = np.flatnonzero(choice == head)
            for row, answer in zip(rows, self.answers(rows, head)):
                answers[row] = answer
        self.chosen = [answers[i * n_views : (i + 1) * n_views] for i in range(len(clouds))]

    def answers(self, rows: np.ndarray, head: int) -> list:
        """The IFS of head ``head`` (its index in ``map_counts``) for rows (cloud-major, view-minor), in each cloud's coordinates."""
        with torch.no_grad(), one_torch_thread():
            index = torch.as_tensor(rows, device=self.device)
            A, b = (t[index] for t in self.maps[head])
            p = map_shares(self.owners[head][index], A.shape[1], _P_FLOOR / A.shape[1], A.dtype)
            A, b = denormalize_maps(A, b, self.centre[index], self.scale[index])
            A, b, p = A.double().cpu().numpy(), b.double().cpu().numpy(), p.double().cpu().numpy()
        # back from the view's coordinates M x to the cloud's: conjugate by M^-1 = M^T
        M = self.transforms[rows % self.n_views]  # (r, d, d)
        A = M.transpose(0, 2, 1)[:, None] @ A @ M[:, None]
        b = np.einsum("rji,rkj->rki", M, b)
        return [IFS(A[j], b[j], p[j]) for j in range(len(rows))]

    def views(self, indices: list, count: int, every_view: bool = True) -> list:
        """The maps of the head of ``count`` maps for the clouds numbered ``indices``: per cloud, a list of IFS.

        One per view, or the cloud as given alone (``every_view=False``); empty lists where the
        model has no head of ``count`` maps.
        """
        if not indices or count not in self.model.k_values:
            return [[] for _ in indices]
        n_views = self.n_views if every_view else 1
        rows = np.array([i * self.n_views + v for i in indices for v in range(n_views)], dtype=np.int64)
        answers = self.answers(rows, self.model.k_values.index(count))
        return [answers[j * n_views : (j + 1) * n_views] for j in range(len(indices))]


def _refined(clouds: list, one_shot: _OneShot, steps: int, n_maps: int | None, seed: int, device) -> list:
    """The refinement of :func:`encode`: one IFS per cloud, from the one shot's answers and ``steps`` steps."""
    model = one_shot.model
    dim = model.dim
    views_of = one_shot.chosen
    # the fitter's sample of each cloud (at most 20,000 points) and, in 2D, its occupancy, which the
    # coverage test and the final choice judge by
    samples = [fitter_sample(cloud, seed) for cloud in clouds]
    occupancies = [target_occupancy(sample) if dim == 2 else None for sample in samples]
    # the number of maps changes in 2D without n_maps: few-map starts beside the grown copies (below)
    few_map_starts = dim == 2 and n_maps is None
    curves = set()  # curve-like 2D clouds: starts of a few maps, judged at their resolution (below)
    if few_map_starts:
        curves = {i for i, (c, o) in enumerate(zip(samples, occupancies)) if fine_fill(c, o) < CURVE_FILL}
    # map-count changes (n_maps not given): the one shot grown into a cover of the cloud, polished and its
    # count chosen (fitting.grow, which answers the one shot itself where no grown count beats it); in 2D
    # the grown answer is kept, else the steps refine the encoder's own maps; in 3D (a budget of 3 s) both
    # always, the attractor nearest the cloud kept
    grown = [None] * len(clouds)
    if n_maps is None:
        grown = [
            grow_maps(
                cloud,
                views[0],
                steps,
                max_maps=GROW_MAX_MAPS,
                seed=seed,
                lr=_REFINE_LR,
                max_contraction=model.max_contraction,
                device=device,
                step_points=GROW_STEP_POINTS,
            )
            for cloud, views in zip(clouds, views_of)
        ]
    result = list(grown)
    # the encoder's own maps refined too: in 3D, where the growth does not pay, and where the grown maps
    # do not cover the cloud (an attractor of a few maps, dust: the fitter's k-means fits' case)
    own = [
        i
        for i in range(len(clouds))
        if dim == 3
        or grown[i] is None
        or grown[i] is views_of[i][0]
        or not _covers(samples[i], occupancies[i], grown[i], seed)
    ]
    # (cloud, starts) of each refinement: the one shot's own maps where the growth does not cover; in 2D
    # where it does, the fewest maps, read as given: a curve drawn by two maps is covered by grown copies,
    # and the one shot's count choice favours more maps (its blurred answers of few maps look poor), yet
    # two maps refine best (the Heighway dragon's cloud: IoU 0.97 at 128^2 from two maps, 0.80 grown to
    # 32 copies, 0.67 from the three maps chosen; benchmarks/bench_encoder_catalog.py)
    covered = set(range(len(clouds))) - set(own)
    jobs = [(i, views_of[i]) for i in own]
    if few_map_starts:
        fewer = sorted(covered - curves)
        fewest = one_shot.views(fewer, min(model.k_values), every_view=False)
        jobs += list(zip(fewer, fewest))
    # a curve-like cloud (a dragon, a Koch curve): few maps from the encoder's heads in every view and from
    # the fitter's k-means parts, whose attractors are judged at the cloud's resolution (below)
    for k in CURVE_MAPS:
        for i, heads_k in zip(sorted(curves), one_shot.views(sorted(curves), k)):
            jobs.append((i, heads_k + kmeans_starts(samples[i], k, CURVE_RESTARTS, seed, model.max_contraction)))
    if not jobs:
        return result
    refined = refine_maps(
        [clouds[i] for i, _ in jobs],
        [starts for _, starts in jobs],
        steps,
        seed=seed,
        lr=_REFINE_LR,
        max_contraction=model.max_contraction,
        device=device,
        attractor_weight=_REFINE_ATTRACTOR,
        snap_rounds=_REFINE_SNAP_ROUNDS,
        step_points=_REFINE_STEP_POINTS,
    )
    answers_for = {}
    for (i, _), answer in zip(jobs, refined):
        answers_for.setdefault(i, []).append(answer)
    # the steps lower a Chamfer loss; what a person sees is the attractor: keep the one shot
    # (or the grown maps) where its attractor is nearer the cloud; grown copies that cover the
    # cloud have beaten the one shot already (fitting.grow compares them)
    for i, answers in answers_for.items():
        first = views_of[i][0]
        earlier = [first] if i not in covered else []
        earlier += [grown[i]] if grown[i] is not None and grown[i] is not first else []
        result[i] = _best_attractor(samples[i], occupancies[i], answers + earlier, seed, i in curves)
    return result


def _covers(cloud: np.ndarray, occupancy, ifs: IFS, seed: int) -> bool:
    """Whether the attractor of ``ifs`` covers the 2D cloud (n, 2) (its ``occupancy``) as the fitter's cover must to skip its k-means fits.

    Its occupancy IoU at the cloud's resolution reaches :data:`~ifskit.fitting.api.COVER_GOOD_ENOUGH`:
    a filled shape. On the attractor of a few maps the grown copies are a poor answer: a
    4096-point cloud of Sierpinski's triangle grown gave 32 maps and IoU 0.67, the encoder's
    own maps refined 5 maps and 0.82.
    """
    return attractor_iou(occupancy, ifs.A, ifs.b, ifs.p, len(cloud), seed) >= COVER_GOOD_ENOUGH


def _best_attractor(cloud: np.ndarray, occupancy, candidates: list, seed: int, curve: bool = False) -> IFS:
    """The candidate IFS whose attractor is nearest the cloud (n, d) (the first on ties); ``occupancy`` its occupancy in 2D.

    2D: how the attractor fills the shape (:func:`~ifskit.fitting.choice.count_figure`) less the
    fitter's penalty per map (:func:`~ifskit.fitting.choice.quality_score`), as
    :func:`~ifskit.fitting.grow` chooses the count; for a ``curve``, its occupancy IoU at the
    cloud's resolution instead (at twice it, a curve's cells are a band two cells wide that the
    exact curve half fills, and copies that hatch the band look better); 3D: the Chamfer
    distance (surfaces, whose occupancy one cell off their place is no figure).
    """
    if cloud.shape[1] == 3:
        scores = [chamfer_distance(chaos_game(ifs, len(cloud), seed=seed, progress=False), cloud) for ifs in candidates]
    else:
        figure = attractor_iou if curve else count_figure
        scores = [
            quality_score(figure(occupancy, ifs.A, ifs.b, ifs.p, len(cloud), seed), ifs.n_maps, AUTO_PENALTY)
            for ifs in candidates
        ]
    return candidates[int(np.argmin(scores))]


def head_quality(normalized, maps, owners, seed: int, charged=None) -> np.ndarray:
    """Predicted attractor quality of every head's maps: lower is better.

    Each cloud starts chains of :data:`~ifskit.ops.losses.CHAIN_STEPS` random maps (drawn
    with the shares of the cloud each map covers) from its own points; their Chamfer
    distance to the cloud, plus :data:`MAP_PENALTY` per map. Each cloud draws from its
    own generator (seeded by ``seed``), so its score does not depend on the batch.

    Parameters
    ----------
    normalized : Tensor, shape (B, N, d)
    maps : list of H pairs (A (B, K_h, d, d), b (B, K_h, d))
    owners : list of H Tensors, shape (B, N)
        The map whose image covers each point (:func:`~ifskit.ops.losses.collage_owner`).
    seed : int
    charged : list of H int, optional
        The maps the penalty counts for each head; default, its maps.

    Returns
    -------
    ndarray, shape (B, H)
    """
    scores = []
    for head, ((A, b), owner) in enumerate(zip(maps, owners)):
        k = A.shape[1]
        p = map_shares(owner, k, CHAIN_SHARE_FLOOR / k, A.dtype)
        generators = [torch.Generator().manual_seed(seed) for _ in range(len(A))]
        distance = attractor_chamfer(normalized, A, b, generator=generators, p=p)
        scores.append(distance.cpu().numpy() + MAP_PENALTY * (k if charged is None else charged[head]))
    return np.stack(scores, axis=1)


def view_transforms(dim: int) -> np.ndarray:
    """The orthogonal maps through which :func:`encode` reads a cloud, shape (MAX_VIEWS, d, d).

    The cloud as given, mirrored in the first axis, turned by 90 degrees in the plane of
    the first two axes, and with those two axes swapped. The encoder is not exactly
    equivariant to them, so each gives a different answer.
    """
    identity = np.eye(dim)
    mirror, turn, swap = identity.copy(), identity.copy(), identity.copy()
    mirror[0, 0] = -1.0
    turn[:2, :2] = [[0.0, -1.0], [1.0, 0.0]]
    swap[:2, :2] = [[0.0, 1.0], [1.0, 0.0]]
    return np.stack([identity, mirror, turn, swap])


def check_cloud(cloud: np.ndarray, dim: int, where: str) -> None:
    """Refuse a cloud the encoder cannot take: wrong shape or dimension, NaN, too few points.

    Parameters
    ----------
    cloud : ndarray, shape (N, d)
    dim : int
        The encoder's dimension.
    where : str
        Names the cloud in the message (a file name, or ``cloud 3``).

    Raises
    ------
    FormatError
    """

    if cloud.ndim != 2 or cloud.shape[1] not in (2, 3):
        raise FormatError(f"a cloud must have shape (N, 2) or (N, 3), got {cloud.shape}", where)
    if cloud.shape[1] != dim:
        raise FormatError(f"a {cloud.shape[1]}D cloud, but the encoder is for {dim}D clouds", where)
    if not np.all(np.isfinite(cloud)):
        raise FormatError("the cloud contains NaN or infinite values", where)
    if len(cloud) < MIN_POINTS:
        raise FormatError(f"{len(cloud)} points; the encoder needs at least {MIN_POINTS}", where)
