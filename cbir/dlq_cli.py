"""`cbir dlq replay`: re-publish chosen dead letters' original messages to the ingest topic (thin glue)."""

from typing import Annotated

import typer

from cbir.ingest_cli import Bootstrap, RunDir
from ingest.errors import IngestError

dlq_app = typer.Typer(help="The dead-letter topic `images.dlq`.", no_args_is_help=True)


@dlq_app.command("replay")
def replay_dead_letters(
    stage: Annotated[
        str | None, typer.Option(help="Only dead letters of this stage (parse, fetch, index, ...)")
    ] = None,
    product_id: Annotated[str | None, typer.Option(help="Only dead letters of this product")] = None,
    all_letters: Annotated[bool, typer.Option("--all", help="Every dead letter (when no filter is given)")] = False,
    dry_run: Annotated[bool, typer.Option(help="List what would be re-published, publish nothing")] = False,
    dead_letter_topic: Annotated[
        str | None, typer.Option(help="Topic of the dead letters [env CBIR_STORES_DEAD_LETTER_TOPIC; images.dlq]")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Topic to re-publish to [env CBIR_STORES_TOPIC; images]")] = None,
    bootstrap_servers: Bootstrap = None,
    run_dir: RunDir = None,
) -> None:
    """Re-publish the original messages of the chosen dead letters, keyed by product id (the DLQ is left as is)."""
    from ingest.dead_letter_replay import DeadLetterChoice, product_id_of, read_dead_letters, replay
    from settings import resolve_settings

    if stage is None and product_id is None and not all_letters:
        raise typer.BadParameter("choose dead letters with --stage and/or --product-id, or pass --all")
    options = {"kafka_bootstrap_servers": bootstrap_servers, "topic": topic, "dead_letter_topic": dead_letter_topic}
    stores = resolve_settings({"stores": options}, run_dir).stores
    servers, topic, dead_letter_topic = stores.kafka_bootstrap_servers, stores.topic, stores.dead_letter_topic
    choice = DeadLetterChoice(stage=stage, product_id=product_id)
    try:
        chosen = [letter for letter in read_dead_letters(stores, dead_letter_topic) if choice.matches(letter)]
        for letter in chosen:
            typer.echo(f"{letter.stage:<8}{product_id_of(letter) or '-':<24}{letter.reason[:80]}")
        if dry_run:
            typer.echo(f"dry run: {len(chosen)} dead letters would be re-published to {topic}")
            return
        count = replay(chosen, stores, topic)
    except IngestError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"re-published {count} dead letters from {dead_letter_topic} to {topic} at {servers}")
