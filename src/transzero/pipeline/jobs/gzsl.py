"""``eval --split`` / xlsa17 folders: generalized zero-shot evaluation (seen, unseen, H, calibrated stacking)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InputError, LabelError
from ..stages import (
    CachedEncoder,
    EncodeStage,
    ReadStage,
    make_encoder,
    resolve_templates,
)
from .base import Job, JobResult


class GZSLJob(Job):
    """Train classical ZSL methods on seen classes, evaluate on seen + unseen (ZSL, s, u, H, AUSUC, gamma)."""

    kind = "gzsl"

    def run(self) -> JobResult:
        from ...data.xlsa17 import load_xlsa17, looks_like_xlsa17
        from ...defaults import text_side_encoder
        from ...encoders import create_encoder
        from ...gzsl import GZSLSplit, evaluate_gzsl, read_split
        from ...labels import LabelSpace, read_attributes
        from ...methods import ZSL_METHODS, create_method, method_info

        s = self.spec
        g = s.gzsl
        assert g is not None
        if s.fewshot is not None or s.model.saved is not None:
            raise InputError("generalized zero-shot evaluation takes neither --shots nor --model; drop them")
        methods = s.model.methods or ["eszsl"]
        for m in methods:
            method_info(m)
            if m not in ZSL_METHODS:
                raise InputError(f"method {m!r} does not learn from seen classes; use one of {', '.join(ZSL_METHODS)}")
        gamma: Any = "auto"
        if g.gamma.strip().lower() != "auto":
            try:
                gamma = float(g.gamma)
            except ValueError:
                raise InputError(f"--gamma must be a number or auto, got {g.gamma!r}") from None
        self.check_outputs(g.support.path if g.support else None)
        cache = self.cache()
        data = s.input.path
        info: dict[str, Any] = {"data": str(data)}
        bad: list[str] = []
        if looks_like_xlsa17(data):
            if g.support is not None or g.split or g.seen_classes or g.unseen_classes or g.attributes is not None:
                raise InputError(f"{data} is an xlsa17 folder: its splits and attributes come from att_splits.mat; "
                                 "drop --support/--split/--seen-classes/--unseen-classes/--attributes")
            with self.timings.stage("read"):
                ds = load_xlsa17(data)
                X_train, y_train = ds.items("trainval")
                Xs, ys = ds.items("test_seen")
                Xu, yu = ds.items("test_unseen")
            X_test, y_test = np.concatenate([Xs, Xu]), list(ys) + list(yu)
            split = GZSLSplit(ds.seen_classes, ds.unseen_classes, ds.val_classes or None)
            space = LabelSpace.from_attributes(ds.class_names, ds.attributes,
                                               semantics="attributes" if g.semantics == "auto" else g.semantics)
            with self.timings.stage("fit"):
                ce = space.embed(create_encoder(text_side_encoder()) if space.semantic_kind != "attributes" else None,
                                 cache)
            info.update(encoder="res101 (xlsa17 features)", semantics=space.semantic_kind, dataset=ds.name)
            n_skipped, skipped = 0, []
        else:
            if g.support is None:
                raise InputError("generalized zero-shot evaluation needs training examples of the seen classes: --support DATA")
            split = read_split(g.split, seen=g.seen_classes, unseen=g.unseen_classes)
            table = self.read(s.input)
            s_table = self.read(g.support)
            self.stage(ReadStage).same_kind(table, s_table, "--support", str(data))
            enc = make_encoder(table.modality, s.model.encoder, s.model.backend)
            names = split.classes
            attr = attr_names = None
            if g.attributes is not None:
                a_names, A, attr_names = read_attributes(g.attributes)
                row = {n: i for i, n in enumerate(a_names)}
                missing = [n for n in names if n not in row]
                if missing:
                    raise LabelError(f"class {missing[0]!r} has no row in {g.attributes.name}; every seen and unseen "
                                     "class needs semantics")
                attr = A[[row[n] for n in names]]
            desc = None
            if s.labels.file is not None:
                ls_file = LabelSpace.from_file(s.labels.file)
                unknown = [n for n in names if n not in ls_file.names]
                if unknown:
                    raise LabelError(f"class {unknown[0]!r} of the split is not in {s.labels.file.name}; describe every class")
                desc = {n: ls_file.descriptions[n] for n in names if n in ls_file.descriptions}
            space = LabelSpace(names, descriptions=desc, templates=resolve_templates(s.labels.templates),
                               attributes=attr, attribute_names=attr_names, semantics=g.semantics)
            label_enc = None
            if space.semantic_kind != "attributes":
                label_enc = enc if enc.modality == "text" else create_encoder(text_side_encoder())
            with self.timings.stage("fit"):
                ce = space.embed(label_enc, cache)
            source = CachedEncoder(enc, cache, s.model.batch_size)
            te = self.stage(EncodeStage).run(source, table, what="encode test items")
            tr = self.stage(EncodeStage).run(source, s_table, what="encode support")
            X_test, y_test = te.X, [str(table.labels[i]) for i in te.positions]  # type: ignore[index]
            X_train, y_train = tr.X, [str(s_table.labels[i]) for i in tr.positions]  # type: ignore[index]
            bad = table.bad_lines(te.errors) + s_table.bad_lines(tr.errors)
            n_skipped, skipped = len(bad), bad[:100]
            info.update(support=str(g.support.path), encoder=enc.name, semantics=space.semantic_kind,
                        semantic_encoder=label_enc.name if label_enc is not None else None)
        self.report_bad(bad)
        results = []
        with self.timings.stage("fit"):
            for m in methods:
                results.append({"method": m, **evaluate_gzsl(create_method(m), X_train, y_train, X_test, y_test, ce,
                                                            split, gamma=gamma)})
        metrics: dict[str, Any] = {**info, "methods": methods, "n_test": len(y_test), "n_skipped": n_skipped,
                                   "skipped": skipped, "results": results, "n_seen": len(split.seen),
                                   "n_unseen": len(split.unseen)}
        if len(results) == 1:
            metrics.update({k: v for k, v in results[0].items() if k != "method"}, method=methods[0])
        if results and results[0]["n_ignored_unseen_support"]:
            self.reporter.note(f"{results[0]['n_ignored_unseen_support']} training example(s) of unseen classes were ignored")
        self.finish(metrics)
        return JobResult(self.kind, metrics, len(y_test) + n_skipped, n_skipped)
