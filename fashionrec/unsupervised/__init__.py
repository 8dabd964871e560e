"""Unsupervised disentanglement for catalogs with few or no attribute labels.

Methods (fashionrec.unsupervised.training): a plain autoencoder ("ae"), β-VAE, β-TCVAE
(Chen et al. 2018, minibatch-weighted-sampling estimator of the total correlation) and
the mixing autoencoder of Hu et al. (CVPR 2018: chunks mixed between two images, an
unmixing pass, a chunk classifier and an adversarial loss). Each latent has one chunk
per attribute of the catalog's vocabulary (chunks are not aligned to attributes: no
labels are seen), so the evaluation (fashionrec.unsupervised.evaluation) can ask
"which chunk carries attribute b" for every method and for ADDE alike.

Few-label prototypes (fashionrec.unsupervised.fewlabel): the memory M computed from a
small labelled subset on top of any encoder, and export of an unsupervised encoder as
an ordinary ADDE-compatible model artifact that `fashionrec reindex` serves.
"""

METHODS = ("ae", "beta-vae", "beta-tcvae", "mixing")
