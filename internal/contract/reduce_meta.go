package contract

// MetaUMAPPrefix starts the metadata keys of a coords stream that record the
// UMAP settings reduce used, one key per umap-learn parameter name:
// "siampipe.umap.n_neighbors", "siampipe.umap.min_dist", ... (added by the
// reduce stage's author; see stages/reduce/README.md).
const MetaUMAPPrefix = "siampipe.umap."
