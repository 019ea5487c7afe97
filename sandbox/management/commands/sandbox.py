from django.core.management.base import BaseCommand, CommandError

from sandbox import cli


class Command(BaseCommand):
    help = "Serve stand-ins for the Kaspi Shop API, WAHA and OpenAI on loopback (demo and tests)."

    def add_arguments(self, parser):
        cli.add_arguments(parser)

    def handle(self, *args, **options):
        try:
            cli.serve(options, self.stdout)
        except (ValueError, OSError) as exc:  # not loopback, or the port is taken
            raise CommandError(str(exc)) from exc
