"""Runner policy: Beam's options from the command line, which runner runs
the job, and how many worker processes and threads per worker it gets.

A job's threads per worker is a number the driver knows (this machine's
cores shared among the local runner's processes; one on Dataflow, which
starts a worker process per vCPU), or ON_THE_WORKER: each worker process
then takes its machine's cores divided by the processes the runner starts
on each machine (--sdk_worker_parallelism), counted where it runs.
"""

from apache_beam.options.pipeline_options import (
  DirectOptions,
  PipelineOptions,
  PortableOptions,
  StandardOptions,
)

from retraining import UserError
from retraining.beam import workarounds
from retraining.machine import cpu_cores

LOCAL_RUNNER = 'FnApiRunner'
# Beam's runners that run on this machine.
LOCAL_RUNNERS = StandardOptions.LOCAL_RUNNERS
ON_THE_WORKER = 0  # threads per worker: decided by each worker process
DASK_REFUSED = (
    '--runner=%s: Beam 2.77\'s Dask runner would write a wrong cache (it routes '
    'tagged outputs by step rather than by tag, collects outputs before '
    'finish_bundle, where RunInference emits its last batch, and has no '
    'metrics); use --runner=PortableRunner with a job service, or no --runner '
    'for this machine (see docs/cluster.md)')


def pipeline_options(args):
  """Beam's options from `args`. Without --runner: Beam's FnApiRunner, one
  worker process per core (Beam's default DirectRunner would first try to
  download its Prism runner). A runner naming Dask is refused."""
  runner = PipelineOptions(args).view_as(StandardOptions).runner
  if runner and 'dask' in runner.lower():
    raise UserError(DASK_REFUSED % runner)
  if runner:
    workarounds.register_runner_options(runner)
  options = PipelineOptions(args)
  unknown = set(options.get_all_options(retain_unknown_options=True)) - set(
      options.get_all_options())
  if unknown:
    raise UserError('unknown flag %s: neither this script\'s (see --help) nor '
                    'Apache Beam\'s' % ', '.join('--' + name for name in sorted(unknown)))
  given = options.get_all_options(drop_default=True)
  if runner is None:
    options.view_as(StandardOptions).runner = LOCAL_RUNNER
    direct = options.view_as(DirectOptions)
    if 'direct_running_mode' not in given:
      direct.direct_running_mode = 'multi_processing'
    if 'direct_num_workers' not in given:
      direct.direct_num_workers = cpu_cores()
  return options


def runner_of(options):
  return options.view_as(StandardOptions).runner


def runs_here(options):
  return runner_of(options) in LOCAL_RUNNERS


def on_dataflow(options):
  """Dataflow starts one worker process per vCPU."""
  return 'dataflow' in runner_of(options).lower()


def local_processes(options):
  """How many worker processes the local runner starts (0 if it runs the
  job in this process, or the job does not run here)."""
  direct = options.view_as(DirectOptions)
  if not runs_here(options) or direct.direct_running_mode != 'multi_processing':
    return 0
  return direct.direct_num_workers or cpu_cores()  # Beam's 0: one per core.


def processes_per_machine(options):
  """--sdk_worker_parallelism: the worker processes a portable runner starts
  on each machine (0: the runner chooses)."""
  return int(options.view_as(PortableOptions).sdk_worker_parallelism or 0)


def threads_per_worker(options):
  """How many of TensorFlow's ops each worker process runs at once: here,
  this machine's cores shared among the local runner's worker processes,
  so that they do not take turns on the same cores; on Dataflow one; on
  other runners ON_THE_WORKER, or one where the runner chooses how many
  processes share a machine."""
  if runs_here(options):
    if not local_processes(options):
      return cpu_cores()  # The job runs in this process.
    return max(1, cpu_cores() // local_processes(options))
  if on_dataflow(options) or not processes_per_machine(options):
    return 1
  return ON_THE_WORKER


def parallelism(options, threads):
  """The runner, its worker processes and the threads per worker, as the
  first log line states them."""
  runner = runner_of(options)
  if local_processes(options):
    processes = '%d worker processes' % local_processes(options)
  elif runs_here(options):
    processes = 'in this process'
  elif on_dataflow(options):
    processes = 'one worker process per vCPU'
  elif processes_per_machine(options):
    processes = 'worker processes as the runner starts them, %d per machine' % (
        processes_per_machine(options))
  else:
    processes = 'worker processes as the runner chooses'
  if threads == ON_THE_WORKER:
    share = processes_per_machine(options)
    per_worker = 'threads per worker: its machine\'s cores%s, counted where it runs' % (
        ' / %d' % share if share > 1 else '')
  else:
    per_worker = '%d threads per worker process' % threads
  return '%s, %s, %s' % (runner, processes, per_worker)
