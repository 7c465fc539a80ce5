"""`cbir`: the platform's command line. Each subcommand is thin glue over the packages."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from cbir.api_cli import api_app
from cbir.dlq_cli import dlq_app
from cbir.ingest_cli import publish, topology_app
from cbir.init_cli import init_stores, solr_security
from cbir.migrate_cli import migrate_ids
from cbir.mine_cli import mine
from cbir.model_cli import model_app
from cbir.options import MilvusUri, Model, RunDir, SolrUrl
from cbir.reconcile_cli import reconcile
from cbir.stack_cli import stack_app
from devstack.settings import StackSettings

app = typer.Typer(
    help="CBIR for fashion e-commerce: train and evaluate the CBIR-GAN embedder, embed images, run the demo.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(stack_app, name="stack")
app.command()(publish)
app.command("init-stores")(init_stores)
app.command("solr-security")(solr_security)
app.command()(reconcile)
app.command("migrate-ids")(migrate_ids)
app.add_typer(topology_app, name="topology")
app.add_typer(api_app, name="api")
app.command()(mine)
app.add_typer(dlq_app, name="dlq")
app.add_typer(model_app, name="model")


OUR_PACKAGES = ("cbir", "embedder", "indexer", "ingest", "topologies", "api", "mining")


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    """Our packages log at INFO (DEBUG with -v); libraries (Kafka, HTTP clients, Milvus) only warnings."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for package in OUR_PACKAGES:
        logging.getLogger(package).setLevel(logging.DEBUG if verbose else logging.INFO)


@app.command()
def train(
    preset: Annotated[str, typer.Argument(help="fashion-mnist or catalog: the model and training recipe.")],
    out: Annotated[Path, typer.Option(help="Checkpoint to write (after every epoch).")],
    data: Annotated[str | None, typer.Option(help="Data folder (catalog: a <class>/<image> tree).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Total epochs (default: the preset's).")] = None,
    triplets: Annotated[
        str | None,
        typer.Option(help="Where triplets come from: supervised (labels), unsupervised (augmentations), semi (both)."),
    ] = None,
    labelled_fraction: Annotated[float | None, typer.Option(help="semi: share of images whose label is used.")] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Labels file of the annotation page: its categories override the folder's.")
    ] = None,
    unlabelled_class: Annotated[
        list[str] | None, typer.Option(help="semi: a class whose labels are never used (repeat); a new category.")
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            help="Loss weights as JSON, e.g. '{\"adversarial\": 0}'; "
            "keys: triplet, instance, adversarial, perceptual, reconstruction."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Train on the first N images only (0: all).")] = 0,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.")] = 2,
    device: Annotated[str, typer.Option(help="auto (CUDA when present, bf16 autocast), cpu or cuda.")] = "auto",
    workers: Annotated[int, typer.Option(min=0, help="DataLoader processes for the augmentation.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue from --out if it exists.")] = False,
) -> None:
    """Train a CBIR-GAN embedder (triplet + adversarial + perceptual + reconstruction losses)."""
    from dataclasses import replace

    from embedder import presets
    from embedder.training.recipes import train as run_training

    config = presets.train_config(preset)
    changes: dict[str, object] = {
        "limit": limit, "threads": threads, "seed": seed, "device": device, "workers": workers,
    }  # fmt: skip
    for name, value in [
        ("data_path", data),
        ("epochs", epochs),
        ("triplet_source", triplets),
        ("labelled_fraction", labelled_fraction),
        ("unlabelled_classes", tuple(unlabelled_class) if unlabelled_class else None),
        ("labels_path", str(labels) if labels else None),
    ]:
        if value is not None:
            changes[name] = value
    if triplets is not None and triplets not in ("supervised", "unsupervised", "semi"):
        raise typer.BadParameter("use supervised, unsupervised or semi", param_hint="--triplets")
    if weights:
        changes["loss_weights"] = replace(config.loss_weights, **json.loads(weights))  # over the preset's
    config = replace(config, **changes)  # type: ignore[arg-type]
    trainer = run_training(presets.model_config(preset), config, out, resume=resume)
    typer.echo(json.dumps({"checkpoint": str(out), "epoch": trainer.epoch, "metrics": trainer.history[-1]}, indent=2))


@app.command("train-pair-scorer")
def train_pair_scorer_command(
    out: Annotated[Path, typer.Option(help="Scorer to write (JSON).")] = Path("models/pair-scorer.json"),
    model: Annotated[Path, typer.Option(help="The image embedder whose candidates it re-ranks.")] = Path(
        "models/catalog.pt"
    ),
    data: Annotated[Path, typer.Option(help="Training photos, a <category>/<image> tree.")] = Path(
        "../shared/datasets/clothing-small/train"
    ),
    k: Annotated[int, typer.Option(min=2, help="First-stage candidates per query (CBIR_API_RERANK_DEPTH).")] = 20,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.")] = 2,
) -> None:
    """Train the `learned` re-ranker: a pairwise scorer of (shopper photo, candidate) over embeddings and SSIM."""
    from embedder import Embedder
    from embedder.pair_scorer import train_pair_scorer

    embedder = Embedder.load(model, batch_size=256, threads=threads)
    scorer = train_pair_scorer(embedder, data, k=k)
    scorer.save(out)
    typer.echo(json.dumps({"scorer": str(out), "model_version": scorer.model_version, **scorer.trained_on}))


@app.command("train-text")
def train_text(
    out: Annotated[Path, typer.Option(help="Text encoder checkpoint to write.")] = Path("models/text-encoder.pt"),
    model: Annotated[Path, typer.Option(help="The image embedder whose space the text is mapped into.")] = Path(
        "models/catalog.pt"
    ),
    data: Annotated[Path, typer.Option(help="Training photos, a <category>/<image> tree.")] = Path(
        "../shared/datasets/clothing-small/train"
    ),
    epochs: Annotated[int, typer.Option(help="Passes over the photos (fresh descriptions each time).")] = 30,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Train the text encoder into an image embedder's space: (photo, its description, a wrong one) triplets."""
    import torch

    from embedder import Embedder
    from embedder.checkpoint import save_checkpoint
    from embedder.checkpoint_facts import model_version
    from embedder.text_encoder import text_checkpoint
    from embedder.training.text_trainer import TextTrainConfig, describe_photos, train_text_encoder, training_record

    torch.set_num_threads(threads)
    config = TextTrainConfig(epochs=epochs, seed=seed)
    photos = describe_photos(data, Embedder.load(model))
    encoder, history = train_text_encoder(photos, config)
    record = training_record(config, photos, str(data), history)
    save_checkpoint(out, text_checkpoint(encoder, image_model=model_version(model), **record))
    typer.echo(json.dumps({"checkpoint": str(out), "image_model": model_version(model), "last": history[-1]}))


@app.command()
def evaluate(
    model: Annotated[
        list[str],
        typer.Option(
            help="NAME=CHECKPOINT; repeat. Grey models get Fashion-MNIST protocols, colour ones the catalog's."
        ),
    ],
    catalog: Annotated[Path, typer.Option(help="clothing-small root (train/ validation/ test/).")] = Path(
        "../shared/datasets/clothing-small"
    ),
    out: Annotated[Path, typer.Option(help="JSON report to write.")] = Path("reports/embedder-eval.json"),
    picture: Annotated[Path | None, typer.Option(help="Embedding-space picture (t-SNE) to write.")] = None,
) -> None:
    """Evaluate checkpoints on every protocol, beside the raw-pixel baseline; write a JSON report."""
    import sys

    from embedder.evaluation.report import evaluate as run_evaluation
    from embedder.evaluation.report import format_table, write_report

    checkpoints = {}
    for item in model:
        name, sep, path = item.partition("=")
        if not sep:
            raise typer.BadParameter("use NAME=CHECKPOINT", param_hint="--model")
        checkpoints[name] = Path(path)
    report = run_evaluation(checkpoints, catalog, command=" ".join(["cbir", *sys.argv[1:]]))
    write_report(report, out)
    typer.echo(format_table(report))
    for row in report["targets"]:
        verdict = (
            "meets target" if row["met_target"] else "meets must-reach" if row["met_must"] else "MISSES must-reach"
        )
        typer.echo(f"{row['model']} {row['protocol']} {row['metric']} = {row['value']:.4f}: {verdict}")
    if picture is not None:
        _plot(checkpoints, catalog, picture)
    typer.echo(f"wrote {out}" + (f" and {picture}" if picture else ""))


def _plot(checkpoints: dict[str, Path], catalog: Path, picture: Path) -> None:
    from embedder import Embedder
    from embedder.data.fashion_mnist import CLASS_NAMES
    from embedder.data.image_folder import list_image_folder
    from embedder.evaluation.embedding_space import plot_embedding_space, sample
    from embedder.evaluation.protocols import fashion_mnist_images, folder_images

    panels = []
    for name, path in checkpoints.items():
        embedder = Embedder.load(path)
        if embedder.config.channels == 1:
            panels.append(
                (
                    f"{name}: Fashion-MNIST test (2,000)",
                    embedder,
                    sample(fashion_mnist_images("test"), 2000),
                    CLASS_NAMES,
                )
            )
        else:
            classes = list_image_folder(catalog / "test")[2]
            panels.append((f"{name}: clothing-small test", embedder, folder_images(catalog / "test"), classes))
    plot_embedding_space(panels, picture)


@app.command()
def embed(
    model: Annotated[Path, typer.Argument(help="Checkpoint, e.g. models/catalog.pt.")],
    images: Annotated[list[Path], typer.Argument(help="Image files.")],
    out: Annotated[Path | None, typer.Option(help="Write the vectors as a .npy file instead of printing them.")] = None,
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 64,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "cpu",
) -> None:
    """Embed image files: prints one JSON line per image (path, vector), or writes an (N, D) .npy file."""
    import numpy as np

    from embedder import Embedder, EmbedderError

    try:
        embedder = Embedder.load(model, batch_size=batch_size, threads=threads, device=device)
    except EmbedderError as error:
        raise typer.BadParameter(str(error), param_hint="--device") from error
    try:
        vectors = embedder.embed([path.read_bytes() for path in images])
    except EmbedderError as error:
        raise typer.BadParameter(str(error), param_hint="IMAGES") from error
    if out is not None:
        np.save(out, vectors)
        typer.echo(f"wrote {vectors.shape[0]} x {vectors.shape[1]} vectors to {out}")
        return
    for path, vector in zip(images, vectors, strict=True):
        typer.echo(
            json.dumps(
                {
                    "path": str(path),
                    "model_version": embedder.version,
                    "vector": [round(float(v), 6) for v in vector],
                }
            )
        )


@app.command("index-folder")
def index_folder(
    folder: Annotated[Path, typer.Argument(help="A <category>/<image> tree, or any folder with --metadata.")],
    model: Model = None,
    metadata: Annotated[
        Path | None,
        typer.Option(help="JSON Lines or CSV file, one row per photo: image (path in FOLDER) + catalog fields."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Photos per forward pass and per store write.")] = 64,
    threads: Annotated[int, typer.Option(min=1, help="CPU threads for torch.")] = 2,
    milvus_uri: MilvusUri = None,
    solr_url: SolrUrl = None,
    run_dir: RunDir = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Bulk-load a folder of photos into Milvus and Solr in batches; re-running re-writes the same items."""
    from embedder import Embedder, EmbedderError
    from indexer.bulk_load import bulk_load
    from indexer.catalog_index import CatalogIndex
    from indexer.errors import IndexerError
    from indexer.folder_images import list_class_folder, read_metadata_file
    from indexer.photo_store import PhotoStore
    from settings import resolve_settings

    settings = resolve_settings(
        {"stores": {"milvus_uri": milvus_uri, "solr_core_url": solr_url}, "embedding": {"model_path": model},
         "indexer": {"batch_size": batch_size}}, run_dir,
    )  # fmt: skip
    stores = settings.stores
    logging.getLogger("pysolr").setLevel(logging.WARNING)  # it logs every request at INFO
    try:
        images = read_metadata_file(metadata, folder) if metadata else list_class_folder(folder)
        embedder = Embedder.load(settings.embedding.model_path, batch_size=batch_size, threads=threads)
        index = CatalogIndex.from_settings(stores, settings.indexer, embedder.version, embedder.dim)
        photos = PhotoStore(stores.photo_store)  # what a model promotion re-embeds from
        report = bulk_load(images, embedder, index, batch_size=batch_size, progress=progress, photos=photos)
    except (IndexerError, EmbedderError) as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}")
    typer.echo(
        f"indexed {report.indexed}, skipped {len(report.skipped)}, duplicates {report.duplicates} "
        f"in {report.seconds:.1f} s ({report.images_per_s:.1f} images/s), model {report.model_version}"
    )
    typer.echo(f"Milvus {stores.milvus_uri}: {report.vector_count} items; Solr {stores.solr_core_url}: "
               f"{report.metadata_count} items")  # fmt: skip
    if report.vector_count != report.metadata_count:
        typer.secho("the stores disagree: run the same command again to repair", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)


@app.command()
def demo(
    model: Model = None,
    catalog: Annotated[Path, typer.Option(help="Catalog to index (class-folder tree).")] = Path(
        "../shared/datasets/clothing-small/train"
    ),
    queries: Annotated[Path, typer.Option(help="Folder of query photos (class-folder tree).")] = Path(
        "../shared/datasets/clothing-small/test"
    ),
    count: Annotated[int, typer.Option(help="How many query photos to show.")] = 5,
    run_dir: RunDir = None,
) -> None:
    """Stack up, ingest topology, publish the catalog to Kafka, wait until searchable, show top-5 matches."""
    from cbir.demo import DemoStalled, run_demo
    from devstack.errors import StackError
    from indexer.errors import IndexerError
    from ingest.errors import IngestError

    stack = StackSettings() if run_dir is None else StackSettings(run_dir=run_dir)
    try:
        run_demo(stack, model, catalog, queries, count, typer.echo)
    except (StackError, IndexerError, IngestError, DemoStalled) as error:
        typer.secho(f"demo failed: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error


if __name__ == "__main__":
    app()
