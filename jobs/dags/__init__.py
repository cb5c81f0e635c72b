"""Brook's Airflow DAGs (this folder is Airflow's DAG folder); their knobs live in :mod:`jobs.dags.settings`."""
