"""What a fit reports about itself (ifskit.fitting.verify): the occupancy IoU sees what a person sees."""

import numpy as np

import ifskit
from ifskit.fitting.verify import verify


def test_iou_of_the_attractor_against_its_own_cloud_is_high_and_falls_with_the_fit():
    sierpinski = ifskit.catalog("sierpinski")
    cloud = ifskit.chaos_game(sierpinski, 4000, seed=1)
    exact = verify(sierpinski, cloud, seed=0)
    assert exact["iou"] > 0.8  # another sample of the same set, binned like for like
    # the attractor moved by a tenth of the triangle's side (b + 0.05 moves the fixed set by 0.1): IoU falls
    moved = ifskit.IFS(sierpinski.A, sierpinski.b + [0.05, 0.0])
    shifted = verify(moved, cloud, seed=0)
    assert shifted["iou"] < 0.6 * exact["iou"]
    # a filled square is not the triangle: the missing half and the holes show
    square = np.random.default_rng(0).uniform(size=(4000, 2))
    filled = verify(sierpinski, square, seed=0)
    assert 0.0 < filled["iou"] < 0.5


def test_iou_in_3d():
    sponge = ifskit.catalog("menger_sponge")
    cloud = ifskit.chaos_game(sponge, 6000, seed=2)
    assert verify(sponge, cloud, seed=0)["iou"] > 0.7
    tetrahedron = ifskit.catalog("sierpinski_tetrahedron").conjugate(np.eye(3), [0.3, 0.0, 0.0])
    assert verify(tetrahedron, cloud, seed=0)["iou"] < 0.4
