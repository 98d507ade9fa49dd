"""`file_storage` extension: persistent key/value storage for components, on embedded SQLite."""
from ...component import ExtensionFactory
from .config import Config
from .extension import FileStorage, StorageClient


def create(settings, config: Config):
    return FileStorage(settings, config)


factory = ExtensionFactory(type="file_storage", config_class=Config, create=create)

__all__ = ["Config", "FileStorage", "StorageClient", "factory"]
