"""Small known-answer studies that the chapters run, on top of the agent library.

* :mod:`~floq_lite.studies.fm1d`: flow matching in one dimension (chapter 1);
* :mod:`~floq_lite.studies.curvature`: curved integration paths, noise width and K (chapter 2);
* :mod:`~floq_lite.studies.mdp`: slippery grid mazes with an exact ``Q*`` (chapters 3, 7, 8);
* :mod:`~floq_lite.studies.tabular_td`: TD learning of those mazes with monolithic and flow critics (chapters 3, 7, 8);
* :mod:`~floq_lite.studies.noise_coverage`: the flow critic's noise interval on chapter 3's maze, its committed study;
* :mod:`~floq_lite.studies.design`: floq's design choices, one at a time (chapter 4);
* :mod:`~floq_lite.studies.iterative_compute`: when K integration steps pay, the sweep of chapter 7;
* :mod:`~floq_lite.studies.plasticity`: frozen features and shifting targets, the study of chapter 8.

Imports flow one way: the book imports studies, studies import the library (``flow``, ``networks``, ``critic``),
and nothing in the library imports a study.
"""
