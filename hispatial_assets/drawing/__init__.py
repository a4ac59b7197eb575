"""Pictures for the UI, drawn with numpy and PIL only: point-map and 3D-box previews (`previews`), and
line and bar charts (`charts`) for training curves and evaluation reports. No dagster here."""
