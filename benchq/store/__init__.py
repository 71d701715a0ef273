"""The results store: one interface (`base.ResultsStore`), one module per backend."""
